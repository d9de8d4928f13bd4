//! Streaming metrics: `update` per batch, `result` over everything seen since `reset`.

use crate::{Error, Result};
use rill_core::Tensor;

/// Which accuracy a metric computes (chosen from the loss when compiled as `"accuracy"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccuracyKind {
    /// Integer labels against the argmax of the prediction.
    SparseCategorical,
    /// One-hot targets against the argmax of the prediction.
    Categorical,
    /// Targets against predictions thresholded at 0.5.
    Binary,
}

/// A metric accumulated over an epoch.
pub trait Metric: Send + Sync {
    /// The name shown in logs, e.g. `accuracy`.
    fn name(&self) -> &str;
    /// Adds a batch.
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()>;
    /// The value over everything since the last reset.
    fn result(&self) -> f64;
    /// Forgets everything.
    fn reset(&mut self);
    /// The metric's stored form ([`metric_json`](crate::saveable::metric_json)) when it has
    /// arguments a name cannot carry; `None` (the default) for metrics rebuilt from their name
    /// and the loss (`accuracy`, `precision`, …). A [`Saveable`](crate::saveable::Saveable)
    /// metric registered with [`register_metric`](crate::saveable::register_metric) saves with
    /// a compiled model.
    fn config(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Right answers out of all answers, exact over everything since the last reset.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    correct: u64,
    seen: u64,
}

impl Tally {
    fn add(&mut self, correct: u64, seen: u64) {
        self.correct += correct;
        self.seen += seen;
    }
    fn share(&self) -> f64 {
        if self.seen == 0 {
            0.0
        } else {
            self.correct as f64 / self.seen as f64
        }
    }
}

/// Exact accuracy over an epoch: correct / seen.
#[derive(Debug, Clone)]
pub struct Accuracy {
    name: String,
    kind: AccuracyKind,
    tally: Tally,
}

impl Accuracy {
    /// An accuracy of `kind`, shown as `name`.
    pub fn new(name: &str, kind: AccuracyKind) -> Self {
        Accuracy {
            name: name.to_string(),
            kind,
            tally: Tally::default(),
        }
    }
}

/// The class of each row: its argmax.
pub fn argmax_rows(y_pred: &Tensor) -> Result<Vec<i64>> {
    Ok(y_pred.argmax(-1, false)?.to_vec::<i64>()?)
}

impl Metric for Accuracy {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        let (correct, seen) = match self.kind {
            AccuracyKind::SparseCategorical => {
                let pred = argmax_rows(y_pred)?;
                let truth = y_true.to_f64_vec();
                (
                    pred.iter()
                        .zip(&truth)
                        .filter(|(p, t)| **p as f64 == **t)
                        .count(),
                    pred.len(),
                )
            }
            AccuracyKind::Categorical => {
                let pred = argmax_rows(y_pred)?;
                let truth = argmax_rows(y_true)?;
                (
                    pred.iter().zip(&truth).filter(|(p, t)| p == t).count(),
                    pred.len(),
                )
            }
            AccuracyKind::Binary => {
                let p = y_pred.to_f64_vec();
                let t = y_true.to_f64_vec();
                (
                    p.iter()
                        .zip(&t)
                        .filter(|(p, t)| (**p > 0.5) == (**t > 0.5))
                        .count(),
                    p.len(),
                )
            }
        };
        self.tally.add(correct as u64, seen as u64);
        Ok(())
    }
    fn result(&self) -> f64 {
        self.tally.share()
    }
    fn reset(&mut self) {
        self.tally = Tally::default();
    }
}

/// Top-k categorical accuracy with integer labels: right when the label is among the k
/// highest predictions.
#[derive(Debug, Clone)]
pub struct SparseTopKAccuracy {
    k: usize,
    name: String,
    tally: Tally,
}

/// [`SparseTopKAccuracy`]'s argument.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct TopKConfig {
    /// How many of the highest scores count as a hit.
    pub k: usize,
}

/// Saved as Keras' `SparseTopKCategoricalAccuracy` with its `k`.
impl crate::saveable::Saveable for SparseTopKAccuracy {
    const NAME: &'static str = "SparseTopKCategoricalAccuracy";
    type Config = TopKConfig;
    fn get_config(&self) -> TopKConfig {
        TopKConfig { k: self.k }
    }
    fn from_config(c: TopKConfig) -> Result<Self> {
        if c.k == 0 {
            return Err(Error::Config(
                "SparseTopKCategoricalAccuracy: k must be at least 1".into(),
            ));
        }
        Ok(SparseTopKAccuracy::new(c.k))
    }
}

impl SparseTopKAccuracy {
    /// Top-`k` accuracy.
    pub fn new(k: usize) -> Self {
        SparseTopKAccuracy {
            k,
            name: format!("top_{k}_accuracy"),
            tally: Tally::default(),
        }
    }
}

impl Metric for SparseTopKAccuracy {
    fn name(&self) -> &str {
        &self.name
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(crate::saveable::metric_json(self))
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        let classes = *y_pred.shape().last().unwrap_or(&1);
        let p = y_pred.to_f64_vec();
        for (row, t) in p.chunks(classes).zip(y_true.to_f64_vec()) {
            let target = row.get(t as usize).copied().unwrap_or(f64::NEG_INFINITY);
            let higher = row.iter().filter(|&&v| v > target).count();
            self.tally.add((higher < self.k) as u64, 1);
        }
        Ok(())
    }
    fn result(&self) -> f64 {
        self.tally.share()
    }
    fn reset(&mut self) {
        self.tally = Tally::default();
    }
}

/// Builds the metric `name` as Keras' `compile(metrics=[...])` understands it.
pub fn from_name(name: &str, accuracy: AccuracyKind) -> Result<Box<dyn Metric>> {
    Ok(match name {
        "accuracy" | "acc" => Box::new(Accuracy::new("accuracy", accuracy)),
        "sparse_categorical_accuracy" => {
            Box::new(Accuracy::new(name, AccuracyKind::SparseCategorical))
        }
        "categorical_accuracy" => Box::new(Accuracy::new(name, AccuracyKind::Categorical)),
        "binary_accuracy" => Box::new(Accuracy::new(name, AccuracyKind::Binary)),
        "sparse_top_k_categorical_accuracy" => Box::new(SparseTopKAccuracy::new(5)),
        "precision" => Box::new(ClassMetric::new(ClassScore::Precision, accuracy)),
        "recall" => Box::new(ClassMetric::new(ClassScore::Recall, accuracy)),
        "f1_score" => Box::new(ClassMetric::new(ClassScore::F1, accuracy)),
        "auc" => Box::new(Auc::new(accuracy)),
        other => return Err(Error::Config(format!("unknown metric '{other}'"))),
    })
}

/// Counts `[true class][predicted class]` for integer labels and predicted classes in `0..classes`.
pub fn confusion_matrix(
    labels: &[i64],
    predicted: &[i64],
    classes: usize,
) -> Result<Vec<Vec<u64>>> {
    if labels.len() != predicted.len() {
        return Err(Error::Input(format!(
            "confusion_matrix: {} labels but {} predictions",
            labels.len(),
            predicted.len()
        )));
    }
    let mut m = vec![vec![0u64; classes]; classes];
    for (&t, &p) in labels.iter().zip(predicted) {
        if t < 0 || p < 0 || t as usize >= classes || p as usize >= classes {
            return Err(Error::Input(format!(
                "confusion_matrix: class {} is outside 0..{classes}",
                if t < 0 || t as usize >= classes { t } else { p }
            )));
        }
        m[t as usize][p as usize] += 1;
    }
    Ok(m)
}

/// The true class and the predicted class of each sample, however targets and predictions are
/// encoded: integer labels, one-hot rows, or a single probability (thresholded at 0.5).
fn classes_of(
    kind: AccuracyKind,
    y_true: &Tensor,
    y_pred: &Tensor,
) -> Result<(Vec<i64>, Vec<i64>, usize)> {
    let width = *y_pred.shape().last().unwrap_or(&1);
    if kind == AccuracyKind::Binary || width == 1 {
        let t = y_true
            .to_f64_vec()
            .iter()
            .map(|&v| (v > 0.5) as i64)
            .collect();
        let p = y_pred
            .to_f64_vec()
            .iter()
            .map(|&v| (v > 0.5) as i64)
            .collect();
        return Ok((t, p, 2));
    }
    let t = match kind {
        AccuracyKind::Categorical => argmax_rows(y_true)?,
        _ => y_true.to_f64_vec().iter().map(|&v| v as i64).collect(),
    };
    Ok((t, argmax_rows(y_pred)?, width))
}

/// Counts of `[true class][predicted class]`, accumulated batch by batch.
#[derive(Debug, Clone, Default)]
pub struct ConfusionMatrix {
    counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Adds pairs of (true, predicted) classes, growing to fit `classes`.
    pub fn add(&mut self, truth: &[i64], predicted: &[i64], classes: usize) -> Result<()> {
        let m = confusion_matrix(truth, predicted, classes)?;
        if self.counts.len() < classes {
            self.counts.resize(classes, Vec::new());
            self.counts.iter_mut().for_each(|r| r.resize(classes, 0));
        }
        for (r, row) in m.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                self.counts[r][c] += v;
            }
        }
        Ok(())
    }
    /// The counts, `[true][predicted]`.
    pub fn counts(&self) -> &[Vec<u64>] {
        &self.counts
    }
    fn column(&self, c: usize) -> u64 {
        self.counts.iter().map(|r| r[c]).sum()
    }
    /// Of the samples predicted as `c`, the share that are `c` (0 when none were).
    pub fn precision(&self, c: usize) -> f64 {
        let predicted = self.column(c);
        if predicted == 0 {
            0.0
        } else {
            self.counts[c][c] as f64 / predicted as f64
        }
    }
    /// Of the samples of class `c`, the share predicted as `c` (0 when there were none).
    pub fn recall(&self, c: usize) -> f64 {
        let actual: u64 = self.counts[c].iter().sum();
        if actual == 0 {
            0.0
        } else {
            self.counts[c][c] as f64 / actual as f64
        }
    }
    /// The harmonic mean of precision and recall of class `c`.
    pub fn f1(&self, c: usize) -> f64 {
        let (p, r) = (self.precision(c), self.recall(c));
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    /// The number of classes seen.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }
}

/// Which per-class score a [`ClassMetric`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassScore {
    /// Correct among predicted.
    Precision,
    /// Found among actual.
    Recall,
    /// Harmonic mean of the two.
    F1,
}

/// Precision, recall or F1: for two classes (binary targets), of the positive class, as Keras'
/// `Precision` and `Recall`; for more, the macro average over classes, as Keras'
/// `F1Score(average="macro")`. Exact over everything since the last reset.
#[derive(Debug, Clone)]
pub struct ClassMetric {
    score: ClassScore,
    kind: AccuracyKind,
    matrix: ConfusionMatrix,
}

impl ClassMetric {
    /// A `score` for targets encoded as `kind` expects.
    pub fn new(score: ClassScore, kind: AccuracyKind) -> Self {
        ClassMetric {
            score,
            kind,
            matrix: ConfusionMatrix::default(),
        }
    }
    /// The confusion matrix behind the score.
    pub fn matrix(&self) -> &ConfusionMatrix {
        &self.matrix
    }
    /// The score of class `c`.
    pub fn per_class(&self, c: usize) -> f64 {
        match self.score {
            ClassScore::Precision => self.matrix.precision(c),
            ClassScore::Recall => self.matrix.recall(c),
            ClassScore::F1 => self.matrix.f1(c),
        }
    }
}

impl Metric for ClassMetric {
    fn name(&self) -> &str {
        match self.score {
            ClassScore::Precision => "precision",
            ClassScore::Recall => "recall",
            ClassScore::F1 => "f1_score",
        }
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        let (t, p, classes) = classes_of(self.kind, y_true, y_pred)?;
        self.matrix.add(&t, &p, classes)
    }
    fn result(&self) -> f64 {
        match self.matrix.classes() {
            0 => 0.0,
            2 => self.per_class(1),
            n => (0..n).map(|c| self.per_class(c)).sum::<f64>() / n as f64,
        }
    }
    fn reset(&mut self) {
        self.matrix = ConfusionMatrix::default();
    }
}

/// Area under the ROC curve, exact (from the ranks of every score seen since the last reset):
/// of the positive class for binary targets, the macro one-vs-rest average for more classes.
#[derive(Debug, Clone)]
pub struct Auc {
    kind: AccuracyKind,
    /// Per class: (score, is this class).
    seen: Vec<Vec<(f64, bool)>>,
}

impl Auc {
    /// AUC for targets encoded as `kind` expects.
    pub fn new(kind: AccuracyKind) -> Self {
        Auc {
            kind,
            seen: Vec::new(),
        }
    }
}

/// ROC AUC of scores for positives against negatives (the Mann–Whitney statistic; ties count ½).
pub fn roc_auc(pairs: &[(f64, bool)]) -> f64 {
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean_rank * sorted[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let pos = sorted.iter().filter(|p| p.1).count() as f64;
    let neg = sorted.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.0;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

impl Metric for Auc {
    fn name(&self) -> &str {
        "auc"
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        let width = *y_pred.shape().last().unwrap_or(&1);
        let scores = y_pred.to_f64_vec();
        if self.kind == AccuracyKind::Binary || width == 1 {
            self.seen.resize(1, Vec::new());
            let truth = y_true.to_f64_vec();
            self.seen[0].extend(scores.iter().zip(&truth).map(|(&s, &t)| (s, t > 0.5)));
            return Ok(());
        }
        let (t, _, _) = classes_of(self.kind, y_true, y_pred)?;
        self.seen.resize(width, Vec::new());
        for (row, &label) in scores.chunks(width).zip(&t) {
            for (c, &s) in row.iter().enumerate() {
                self.seen[c].push((s, c as i64 == label));
            }
        }
        Ok(())
    }
    fn result(&self) -> f64 {
        if self.seen.is_empty() {
            return 0.0;
        }
        self.seen.iter().map(|p| roc_auc(p)).sum::<f64>() / self.seen.len() as f64
    }
    fn reset(&mut self) {
        self.seen.clear();
    }
}
