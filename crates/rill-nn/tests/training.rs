//! End-to-end training on synthetic problems, callbacks, and input checks.

use rill_core::{set_seed, DType, Generator, Tensor};
use rill_nn::prelude::*;

/// Two interleaved spirals-like classes: the label is which side of a sine curve a point is on.
fn synthetic(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut g = Generator::new(seed);
    let x = g.uniform(&[n, 2], -3.0, 3.0, DType::F32).unwrap();
    let v = x.to_vec::<f32>().unwrap();
    let y: Vec<i64> = v
        .chunks(2)
        .map(|p| (p[1] > (p[0] * 1.5).sin() * 1.5) as i64)
        .collect();
    (x, Tensor::from_vec(y, &[n]).unwrap())
}

fn mlp() -> Sequential {
    let mut m = Sequential::new(vec![
        Box::new(Dense::new(32).activation(Activation::Relu)),
        Box::new(Dense::new(32).activation(Activation::Relu)),
        Box::new(Dense::new(2)),
    ]);
    m.compile(
        Adam::new(0.01),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    m
}

#[test]
fn mlp_learns_a_nonlinear_problem_to_95_percent() {
    set_seed(1);
    let (x, y) = synthetic(4000, 1);
    let (tx, ty) = synthetic(1000, 2);
    let mut m = mlp();
    let h = m
        .fit(
            (&x, &y),
            FitConfig::default()
                .epochs(40)
                .batch_size(64)
                .validation_split(0.1)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(h.epochs, 40);
    assert_eq!(h.get("val_accuracy").unwrap().len(), 40);
    let logs = m.evaluate((&tx, &ty), 256).unwrap();
    assert!(
        logs["accuracy"] > 0.95,
        "test accuracy {}",
        logs["accuracy"]
    );
    assert!(h.get("loss").unwrap()[39] < h.get("loss").unwrap()[0]);
}

#[test]
fn training_is_reproducible_from_the_seed() {
    let run = || {
        set_seed(5);
        let (x, y) = synthetic(500, 3);
        let mut m = mlp();
        m.fit(
            (&x, &y),
            FitConfig::default()
                .epochs(3)
                .seed(9)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
        m.get_weights()
            .iter()
            .flat_map(|w| w.to_vec::<f32>().unwrap())
            .collect::<Vec<f32>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn bytes_train_predict_and_evaluate_exactly_as_their_float_values() {
    // fit/evaluate/predict take u8 data as it is and convert one batch at a time, so that a
    // data set of bytes never exists whole as floats; the results must be those of floats.
    let mut g = Generator::new(11);
    let bytes = g
        .uniform(&[200, 3], 0.0, 255.0, DType::F32)
        .unwrap()
        .to_dtype(DType::U8)
        .unwrap();
    let (_, y) = synthetic(200, 4);
    let run = |x: &Tensor| {
        set_seed(5);
        let mut m = mlp();
        let h = m
            .fit(
                (x, &y),
                FitConfig::default()
                    .epochs(2)
                    .batch_size(16)
                    .seed(9)
                    .validation_split(0.25)
                    .verbose(Verbosity::Silent),
            )
            .unwrap();
        let p = m.predict(x, 64).unwrap().to_vec::<f32>().unwrap();
        let e = m.evaluate((x, &y), 50).unwrap();
        (h.history, p, e)
    };
    let floats = bytes.to_dtype(DType::F32).unwrap();
    assert_eq!(run(&bytes), run(&floats));
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    set_seed(2);
    let (x, _) = synthetic(300, 4);
    // Labels unrelated to the inputs: validation loss cannot keep improving.
    let noise = Tensor::from_vec(
        (0..300).map(|i| ((i * 7919) % 13 % 2) as i64).collect(),
        &[300],
    )
    .unwrap();
    let mut m = mlp();
    let h = m
        .fit(
            (&x, &noise),
            FitConfig::default()
                .epochs(200)
                .validation_split(0.3)
                .verbose(Verbosity::Silent)
                .callback(EarlyStopping::new("val_loss", 3).restore_best_weights(true)),
        )
        .unwrap();
    assert!(h.epochs < 200, "early stopping never fired");
    let val = h.get("val_loss").unwrap();
    let best = val.iter().cloned().fold(f64::INFINITY, f64::min);
    let best_epoch = val.iter().position(|&v| v == best).unwrap();
    assert_eq!(
        h.epochs,
        best_epoch + 4,
        "stops `patience` epochs after the best"
    );
    // The restored weights give the best epoch's validation loss again.
    let n_train = 300 - 90;
    let again = m
        .evaluate(
            (
                &x.slice(0, n_train, 300).unwrap(),
                &noise.slice(0, n_train, 300).unwrap(),
            ),
            32,
        )
        .unwrap();
    assert!(
        (again["loss"] - best).abs() < 1e-5,
        "restored loss {} vs best {best}",
        again["loss"]
    );
}

#[test]
fn reduce_lr_on_plateau_lowers_the_rate() {
    set_seed(3);
    let (x, _) = synthetic(64, 5);
    let constant = Tensor::zeros(&[64], DType::I64);
    let mut m = mlp();
    // A monitor that cannot improve once the loss is ~0: the rate must drop.
    m.fit(
        (&x, &constant),
        FitConfig::default()
            .epochs(30)
            .verbose(Verbosity::Silent)
            .callback(ReduceLROnPlateau::new("accuracy", 0.5, 2)),
    )
    .unwrap();
    let lr = m.optimizer_mut().unwrap().learning_rate();
    assert!(lr < 0.01 * 0.5 + 1e-12, "learning rate still {lr}");
}

#[test]
fn bad_inputs_give_clear_errors_before_any_work() {
    let mut m = Sequential::new(vec![Box::new(Flatten::new()), Box::new(Dense::new(10))])
        .with_input_shape(&[28, 28])
        .unwrap();
    m.compile(
        Adam::default(),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    let x = Tensor::zeros(&[8, 784], DType::F32);
    let y = Tensor::zeros(&[8], DType::I64);
    let e = m
        .fit((&x, &y), FitConfig::default().verbose(Verbosity::Silent))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "fit: expected input of shape (None, 28, 28), found [8, 784] (per-sample shape [784] instead of [28, 28])");
    let e = m.predict(&x, 32).unwrap_err().to_string();
    assert!(
        e.starts_with("predict: expected input of shape (None, 28, 28)"),
        "{e}"
    );
    let x = Tensor::zeros(&[8, 28, 28], DType::U8);
    let e = m
        .fit((&x, &Tensor::zeros(&[7], DType::I64)), FitConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "fit: x and y must have the same number of samples, found 8 and 7"
    );
    let bad = Tensor::from_vec(vec![0i64, 1, 2, 3, 4, 5, 6, 12], &[8]).unwrap();
    let e = m
        .fit((&x, &bad), FitConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "fit: sparse_categorical_crossentropy: label 12 at index 7 is outside the model's 10 classes (expected an integer in 0..10)");
    let e = m
        .evaluate((&x, &Tensor::zeros(&[8, 10], DType::F32)), 32)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expected integer labels of shape (N,) or (N, 1), found [8, 10]"),
        "{e}"
    );
    let mut fresh = Sequential::new(vec![Box::new(Dense::new(2))]);
    let e = fresh
        .fit(
            (
                &Tensor::zeros(&[2, 3], DType::F32),
                &Tensor::zeros(&[2], DType::I64),
            ),
            FitConfig::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("fit: compile the model first"), "{e}");
}

#[test]
fn predict_batches_and_records_no_graph() {
    set_seed(4);
    let (x, _) = synthetic(100, 6);
    // Prediction runs through `&self`, so an unbuilt model says how to build it.
    let e = mlp().predict(&x, 7).unwrap_err().to_string();
    assert!(e.contains("not built yet; give it an input shape"), "{e}");
    let mut m = mlp();
    m.build(&[2]).unwrap();
    let all = m.predict(&x, 7).unwrap();
    assert_eq!(all.shape(), &[100, 2]);
    assert!(!all.requires_grad());
    let one_batch = m.predict_on_batch(&x).unwrap();
    for (a, b) in all
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .zip(one_batch.to_vec::<f32>().unwrap())
    {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn a_training_step_updates_the_weights_in_place() {
    // The graph must be gone before the optimizer runs, or every step copies every weight.
    set_seed(6);
    let (x, y) = synthetic(64, 9);
    let mut m = mlp();
    m.train_on_batch(&x, &y).unwrap();
    let before: Vec<usize> = m
        .variables()
        .iter()
        .map(|v| v.value().data::<f32>().unwrap().as_ptr() as usize)
        .collect();
    m.train_on_batch(&x, &y).unwrap();
    let after: Vec<usize> = m
        .variables()
        .iter()
        .map(|v| v.value().data::<f32>().unwrap().as_ptr() as usize)
        .collect();
    assert_eq!(before, after, "each weight keeps its buffer across a step");
}

/// The epoch at which `stop` ends training on a run whose `val_loss` goes through `losses`.
fn stopped_at(mut stop: EarlyStopping, losses: &[f64]) -> Option<usize> {
    let mut model = Sequential::new(vec![Box::new(Dense::new(1))])
        .with_input_shape(&[1])
        .unwrap();
    stop.on_train_begin(&mut model).unwrap();
    for (epoch, &loss) in losses.iter().enumerate() {
        let logs = Logs::from([("val_loss".to_string(), loss)]);
        stop.on_epoch_end(epoch, &logs, &mut model).unwrap();
        if model.stop_training {
            return Some(epoch);
        }
    }
    None
}

#[test]
fn early_stopping_takes_min_delta_baseline_and_start_from_epoch_as_keras_does() {
    let slow = [1.0, 0.95, 0.92, 0.91, 0.90];
    assert_eq!(stopped_at(EarlyStopping::new("val_loss", 2), &slow), None);
    // Improvements smaller than min_delta do not count.
    let delta = EarlyStopping::new("val_loss", 2).min_delta(0.1);
    assert_eq!(stopped_at(delta, &slow), Some(2));
    // Improving, but never below the baseline: the wait keeps counting and stops at the
    // first epoch that does not improve.
    let baseline = EarlyStopping::new("val_loss", 2).baseline(0.5);
    assert_eq!(stopped_at(baseline, &[1.0, 0.9, 0.8, 0.85]), Some(3));
    let beaten = EarlyStopping::new("val_loss", 2).baseline(0.5);
    assert_eq!(stopped_at(beaten, &[1.0, 0.4, 0.45, 0.44]), Some(3));
    // Warm-up epochs are not watched.
    let warm = [1.0, 2.0, 3.0, 0.5, 0.6];
    assert_eq!(
        stopped_at(EarlyStopping::new("val_loss", 1), &warm),
        Some(1)
    );
    let late = EarlyStopping::new("val_loss", 1).start_from_epoch(2);
    assert_eq!(stopped_at(late, &warm), Some(4));
    // mode: a loss-named monitor watched for a rise.
    let max = EarlyStopping::new("val_loss", 1).mode(Mode::Max);
    assert_eq!(stopped_at(max, &[1.0, 2.0, 1.5]), Some(2));
}
