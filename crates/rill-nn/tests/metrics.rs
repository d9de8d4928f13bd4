//! Metrics against values worked out by hand.

use rill_core::Tensor;
use rill_nn::metrics::{
    self, roc_auc, AccuracyKind, ClassMetric, ClassScore, Metric, SparseTopKAccuracy,
};

fn t(v: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn precision_recall_f1_macro_and_per_class() {
    // 3 classes. Truth 0,0,1,1,2,2; predicted 0,1,1,1,2,0.
    let y = t(vec![0., 0., 1., 1., 2., 2.], &[6]);
    let onehot = |c: usize| {
        (0..3)
            .map(|i| if i == c { 1.0 } else { 0.0 })
            .collect::<Vec<f32>>()
    };
    let pred = t(
        [0, 1, 1, 1, 2, 0].iter().flat_map(|&c| onehot(c)).collect(),
        &[6, 3],
    );
    let mut p = ClassMetric::new(ClassScore::Precision, AccuracyKind::SparseCategorical);
    let mut r = ClassMetric::new(ClassScore::Recall, AccuracyKind::SparseCategorical);
    let mut f = ClassMetric::new(ClassScore::F1, AccuracyKind::SparseCategorical);
    // Fed in two batches: the result is exact over both.
    for m in [&mut p as &mut dyn Metric, &mut r, &mut f] {
        m.update(&y.slice(0, 0, 3).unwrap(), &pred.slice(0, 0, 3).unwrap())
            .unwrap();
        m.update(&y.slice(0, 3, 6).unwrap(), &pred.slice(0, 3, 6).unwrap())
            .unwrap();
    }
    // precision: c0 1/2, c1 2/3, c2 1/1; recall: c0 1/2, c1 2/2, c2 1/2.
    assert!(
        (p.per_class(0) - 0.5).abs() < 1e-12
            && (p.per_class(1) - 2.0 / 3.0).abs() < 1e-12
            && p.per_class(2) == 1.0
    );
    assert!((p.result() - (0.5 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
    assert!((r.result() - (0.5 + 1.0 + 0.5) / 3.0).abs() < 1e-12);
    let f1 = |p: f64, r: f64| 2.0 * p * r / (p + r);
    assert!((f.result() - (f1(0.5, 0.5) + f1(2.0 / 3.0, 1.0) + f1(1.0, 0.5)) / 3.0).abs() < 1e-12);
    assert_eq!(p.matrix().counts()[2], vec![1, 0, 1]);
    p.reset();
    assert_eq!(p.result(), 0.0);
}

#[test]
fn binary_precision_recall_are_of_the_positive_class() {
    let y = t(vec![1., 1., 0., 0., 1.], &[5, 1]);
    let pred = t(vec![0.9, 0.2, 0.7, 0.1, 0.6], &[5, 1]);
    let mut p = ClassMetric::new(ClassScore::Precision, AccuracyKind::Binary);
    let mut r = ClassMetric::new(ClassScore::Recall, AccuracyKind::Binary);
    p.update(&y, &pred).unwrap();
    r.update(&y, &pred).unwrap();
    assert!((p.result() - 2.0 / 3.0).abs() < 1e-12, "TP 2, FP 1");
    assert!((r.result() - 2.0 / 3.0).abs() < 1e-12, "TP 2, FN 1");
}

#[test]
fn auc_is_exact_with_ties() {
    // Positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4) (0.8>0.1) (0.4=0.4 → ½) (0.4>0.1).
    assert!(
        (roc_auc(&[(0.8, true), (0.4, true), (0.4, false), (0.1, false)]) - 3.5 / 4.0).abs()
            < 1e-12
    );
    let mut auc = metrics::from_name("auc", AccuracyKind::Binary).unwrap();
    auc.update(
        &t(vec![1., 0., 1., 0.], &[4, 1]),
        &t(vec![0.8, 0.4, 0.4, 0.1], &[4, 1]),
    )
    .unwrap();
    assert!((auc.result() - 0.875).abs() < 1e-12);
}

#[test]
fn top_k_and_compile_names() {
    let mut top2 = SparseTopKAccuracy::new(2);
    top2.update(
        &t(vec![2., 0.], &[2]),
        &t(vec![0.1, 0.5, 0.4, 0.2, 0.3, 0.5], &[2, 3]),
    )
    .unwrap();
    assert_eq!(
        top2.result(),
        0.5,
        "label 2 is 2nd of row 0; label 0 is 3rd of row 1"
    );
    for name in [
        "accuracy",
        "precision",
        "recall",
        "f1_score",
        "auc",
        "sparse_top_k_categorical_accuracy",
    ] {
        assert!(
            metrics::from_name(name, AccuracyKind::SparseCategorical).is_ok(),
            "{name}"
        );
    }
    assert_eq!(
        metrics::from_name("bogus", AccuracyKind::Binary)
            .err()
            .unwrap()
            .to_string(),
        "unknown metric 'bogus'"
    );
}
