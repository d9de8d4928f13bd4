//! Losses against targets whose rank differs from the predictions' by a trailing 1, as Keras
//! squeezes them: `[N]` targets with `[N, 1]` predictions must not broadcast to `[N, N]`.

use rill_core::{no_grad, set_seed, Tensor};
use rill_nn::losses::{
    BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss, MeanAbsoluteError, MeanSquaredError,
};
use rill_nn::prelude::*;

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn value(loss: &dyn Loss, y: &Tensor, p: &Tensor) -> f32 {
    loss.compute(y, p).unwrap().item::<f32>().unwrap()
}

#[test]
fn mean_squared_error_of_equal_values_is_zero_whatever_the_trailing_one() {
    let y = t(&[0.0, 1.0, 2.0], &[3]);
    let p = t(&[0.0, 1.0, 2.0], &[3, 1]);
    let mse = MeanSquaredError::default();
    // Broadcast to 3×3 this was 1.3333.
    assert_eq!(value(&mse, &y, &p), 0.0);
    assert_eq!(value(&mse, &p, &y), 0.0);
}

#[test]
fn every_elementwise_loss_gives_the_same_value_and_gradient_for_n_and_n_by_1_targets() {
    let y_col = t(&[0.0, 1.0, 1.0, 0.0], &[4, 1]);
    let y_flat = t(&[0.0, 1.0, 1.0, 0.0], &[4]);
    let losses: Vec<Box<dyn Loss>> = vec![
        Box::new(MeanSquaredError::default()),
        Box::new(MeanAbsoluteError::default()),
        Box::new(Huber { delta: 0.5 }),
        Box::new(BinaryCrossentropy::default()),
        Box::new(BinaryCrossentropy {
            from_logits: true,
            label_smoothing: 0.1,
        }),
    ];
    for loss in &losses {
        let grad_for = |y: &Tensor| {
            let p = t(&[0.2, 0.7, 0.4, 0.9], &[4, 1])
                .set_requires_grad(true)
                .unwrap();
            let l = loss.compute(y, &p).unwrap();
            let g = l.backward().unwrap();
            (
                l.item::<f32>().unwrap(),
                g.get(&p).unwrap().to_vec::<f32>().unwrap(),
            )
        };
        let (a, ga) = grad_for(&y_col);
        let (b, gb) = grad_for(&y_flat);
        assert_eq!(a, b, "{}", loss.name());
        assert_eq!(ga, gb, "{}", loss.name());
    }
    // One-hot targets with an extra trailing 1 squeeze too.
    let cce = CategoricalCrossentropy::default();
    let p = t(&[0.2, 0.8, 0.6, 0.4], &[2, 2]);
    let one_hot = t(&[0.0, 1.0, 1.0, 0.0], &[2, 2]);
    let extra = t(&[0.0, 1.0, 1.0, 0.0], &[2, 2, 1]);
    assert_eq!(value(&cce, &one_hot, &p), value(&cce, &extra, &p));
}

#[test]
fn targets_that_match_no_prediction_shape_are_an_error_not_a_broadcast() {
    let mse = MeanSquaredError::default();
    let e = mse
        .compute(&t(&[1.0, 2.0], &[2]), &t(&[0.0; 6], &[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("do not match predictions"), "{e}");
}

#[test]
fn fit_and_evaluate_take_flat_regression_targets_for_a_one_unit_output() {
    set_seed(4);
    let x = t(
        &(0..64).map(|i| i as f32 / 64.0).collect::<Vec<_>>(),
        &[64, 1],
    );
    let y = t(
        &(0..64)
            .map(|i| 2.0 * i as f32 / 64.0 + 1.0)
            .collect::<Vec<_>>(),
        &[64],
    );
    let mut m = Sequential::new(vec![Box::new(Dense::new(1))]);
    m.compile(Adam::new(0.1), MeanSquaredError::default(), &[] as &[&str])
        .unwrap();
    m.fit(
        (x.clone(), y.clone()),
        FitConfig::default()
            .epochs(60)
            .batch_size(16)
            .verbose(Verbosity::Silent),
    )
    .unwrap();
    let logs = m.evaluate((x.clone(), y.clone()), 64).unwrap();
    // Evaluate's loss is the loss of the predictions against the flat targets, element by element.
    let p = no_grad(|| m.predict(x.clone(), 64)).unwrap();
    let want: f32 = p
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .zip(y.to_vec::<f32>().unwrap())
        .map(|(p, y)| (p - y) * (p - y))
        .sum::<f32>()
        / 64.0;
    assert!(
        (logs["loss"] - want as f64).abs() < 1e-5,
        "{logs:?} vs {want}"
    );
    assert!(logs["loss"] < 0.01, "a line is learnt: {logs:?}");
}
