//! `fit`, `evaluate` and `predict` on `rill-data` datasets: plain, with validation, and with
//! several inputs and outputs.

use rill::prelude::*;
use rill_core::Generator;

#[test]
fn fit_trains_from_a_dataset() {
    rill_core::set_seed(0);
    let mut g = Generator::new(3);
    let x = g.uniform(&[512, 2], -1.0, 1.0, DType::F32).unwrap();
    let y: Vec<i64> = x
        .to_vec::<f32>()
        .unwrap()
        .chunks(2)
        .map(|p| (p[0] + p[1] > 0.0) as i64)
        .collect();
    let y = Tensor::from_vec(y, &[512]).unwrap();
    let ds = Dataset::from_tensor_slices(vec![x, y])
        .unwrap()
        .shuffle(512, 1)
        .batch(32, false)
        .prefetch(2);
    let mut m = Sequential::new(vec![
        Box::new(Dense::new(16).activation(Activation::Relu)),
        Box::new(Dense::new(2)),
    ]);
    m.compile(
        Adam::new(0.01),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    let h = m
        .fit(
            &ds,
            FitConfig::default()
                .epochs(15)
                .validation_batches(ds.clone())
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert!(h.last("val_accuracy").unwrap() > 0.95, "{:?}", h.history);
    // predict and evaluate take datasets too; predict uses the first tensor of each element.
    let tx = Tensor::rand_uniform(&[70, 2], -1.0, 1.0, DType::F32).unwrap();
    let inputs = Dataset::from_tensor_slices(vec![tx.clone()])
        .unwrap()
        .batch(32, false);
    let from_ds = m.predict(PredictData::batches(&inputs), 0).unwrap();
    assert_eq!(from_ds.shape(), &[70, 2]);
    assert_eq!(
        from_ds.to_vec::<f32>().unwrap(),
        m.predict(&tx, 70).unwrap().to_vec::<f32>().unwrap()
    );
    assert!(m.evaluate(&ds, 0).unwrap()["accuracy"] > 0.95);
    // A dataset of the wrong shape is refused per batch with the usual message.
    let bad = Dataset::from_tensor_slices(vec![
        Tensor::zeros(&[4, 3], DType::F32),
        Tensor::zeros(&[4], DType::I64),
    ])
    .unwrap()
    .batch(2, false);
    let e = m
        .fit(&bad, FitConfig::default().verbose(Verbosity::Silent))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("fit: expected input of shape (None, 2), found [2, 3]"),
        "{e}"
    );
}
