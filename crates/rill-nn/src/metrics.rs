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
pub trait Metric: Send {
    /// The name shown in logs, e.g. `accuracy`.
    fn name(&self) -> &str;
    /// Adds a batch.
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()>;
    /// The value over everything since the last reset.
    fn result(&self) -> f64;
    /// Forgets everything.
    fn reset(&mut self);
}

/// Exact accuracy over an epoch: correct / seen.
#[derive(Debug, Clone)]
pub struct Accuracy {
    name: String,
    kind: AccuracyKind,
    correct: u64,
    seen: u64,
}

impl Accuracy {
    /// An accuracy of `kind`, shown as `name`.
    pub fn new(name: &str, kind: AccuracyKind) -> Self {
        Accuracy {
            name: name.to_string(),
            kind,
            correct: 0,
            seen: 0,
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
        self.correct += correct as u64;
        self.seen += seen as u64;
        Ok(())
    }
    fn result(&self) -> f64 {
        if self.seen == 0 {
            0.0
        } else {
            self.correct as f64 / self.seen as f64
        }
    }
    fn reset(&mut self) {
        self.correct = 0;
        self.seen = 0;
    }
}

/// Top-k categorical accuracy with integer labels: right when the label is among the k
/// highest predictions.
#[derive(Debug, Clone)]
pub struct SparseTopKAccuracy {
    k: usize,
    name: String,
    correct: u64,
    seen: u64,
}

impl SparseTopKAccuracy {
    /// Top-`k` accuracy.
    pub fn new(k: usize) -> Self {
        SparseTopKAccuracy {
            k,
            name: format!("top_{k}_accuracy"),
            correct: 0,
            seen: 0,
        }
    }
}

impl Metric for SparseTopKAccuracy {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        let classes = *y_pred.shape().last().unwrap_or(&1);
        let p = y_pred.to_f64_vec();
        for (row, t) in p.chunks(classes).zip(y_true.to_f64_vec()) {
            let target = row.get(t as usize).copied().unwrap_or(f64::NEG_INFINITY);
            let higher = row.iter().filter(|&&v| v > target).count();
            self.correct += (higher < self.k) as u64;
            self.seen += 1;
        }
        Ok(())
    }
    fn result(&self) -> f64 {
        if self.seen == 0 {
            0.0
        } else {
            self.correct as f64 / self.seen as f64
        }
    }
    fn reset(&mut self) {
        self.correct = 0;
        self.seen = 0;
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
