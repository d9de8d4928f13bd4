//! A user-defined layer trains like a built-in one; regularizers add to the loss; the smaller
//! callbacks do what they say.

use rill_core::{set_seed, DType, Tensor};
use rill_nn::prelude::*;
use rill_nn::{Result, Variable};

/// A custom layer written the way a user would: y = x · w (elementwise), w learned, start 1.
struct Scale {
    w: Option<Variable>,
}

impl Layer for Scale {
    fn kind(&self) -> &'static str {
        "Scale"
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.w = Some(Variable::trainable(
            "w",
            Tensor::ones(input_shape, DType::F32),
        )?);
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let w = self
            .w
            .as_ref()
            .ok_or_else(|| rill_nn::Error::not_built("Scale"))?;
        Ok(x.mul(&w.value())?)
    }
    fn variables(&self) -> Vec<Variable> {
        self.w.iter().cloned().collect()
    }
}

#[test]
fn a_custom_layer_trains_and_shows_in_the_summary() {
    set_seed(1);
    // Learn y = 3x per feature.
    let x = Tensor::rand_uniform(&[256, 4], -1.0, 1.0, DType::F32).unwrap();
    let y = x.mul_scalar(3.0).unwrap();
    let mut m = Sequential::new(vec![Box::new(Scale { w: None })])
        .with_input_shape(&[4])
        .unwrap();
    assert!(m.summary().contains("scale (Scale)"));
    m.compile(Sgd::new(0.5), MeanSquaredError::default(), &[])
        .unwrap();
    m.fit(
        (&x, &y),
        FitConfig::default().epochs(20).verbose(Verbosity::Silent),
    )
    .unwrap();
    for w in m.get_weights()[0].to_vec::<f32>().unwrap() {
        assert!((w - 3.0).abs() < 1e-3, "learned {w}");
    }
}

#[test]
fn regularizers_add_their_penalty_to_the_loss() {
    set_seed(2);
    let x = Tensor::ones(&[4, 3], DType::F32);
    let y = Tensor::zeros(&[4, 2], DType::F32);
    let loss_with = |r: Option<Regularizer>| {
        set_seed(2);
        let d = Dense::new(2)
            .kernel_initializer(Initializer::Ones)
            .use_bias(false);
        let d = match r {
            Some(r) => d.kernel_regularizer(r),
            None => d,
        };
        let mut m = Sequential::new(vec![Box::new(d)])
            .with_input_shape(&[3])
            .unwrap();
        m.compile(Sgd::new(0.0), MeanSquaredError::default(), &[])
            .unwrap();
        m.test_on_batch(&x, &y).unwrap()["loss"]
    };
    let base = loss_with(None);
    assert!(
        (base - 9.0).abs() < 1e-6,
        "each output is 3, squared error 9"
    );
    // Six kernel weights of 1: L2 adds 0.01·6, L1 adds 0.1·6.
    assert!((loss_with(Some(Regularizer::L2(0.01))) - (base + 0.06)).abs() < 1e-5);
    assert!((loss_with(Some(Regularizer::L1(0.1))) - (base + 0.6)).abs() < 1e-5);
    assert!((loss_with(Some(Regularizer::L1L2(0.1, 0.01))) - (base + 0.66)).abs() < 1e-5);
}

fn small_model() -> Sequential {
    let mut m = Sequential::new(vec![Box::new(Dense::new(2))])
        .with_input_shape(&[3])
        .unwrap();
    m.compile(
        Sgd::new(0.1),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    m
}

#[test]
fn csv_logger_writes_every_epoch_atomically() {
    set_seed(3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let x = Tensor::rand_uniform(&[20, 3], -1.0, 1.0, DType::F32).unwrap();
    let y = Tensor::zeros(&[20], DType::I64);
    let mut m = small_model();
    m.fit(
        (&x, &y),
        FitConfig::default()
            .epochs(3)
            .validation_split(0.25)
            .verbose(Verbosity::Silent)
            .callback(CsvLogger::new(&path)),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("2,"));
    assert!(!dir.path().join("log.csv.tmp").exists());
}

#[test]
fn learning_rate_scheduler_and_terminate_on_nan() {
    set_seed(4);
    let x = Tensor::rand_uniform(&[20, 3], -1.0, 1.0, DType::F32).unwrap();
    let y = Tensor::zeros(&[20], DType::I64);
    let mut m = small_model();
    m.fit(
        (&x, &y),
        FitConfig::default()
            .epochs(3)
            .verbose(Verbosity::Silent)
            .callback(LearningRateScheduler::new(|epoch, _| {
                0.1 / (epoch + 1) as f64
            })),
    )
    .unwrap();
    assert!((m.optimizer_mut().unwrap().learning_rate() - 0.1 / 3.0).abs() < 1e-12);
    // A NaN input makes the loss NaN at the first batch: training stops after that epoch.
    let bad = Tensor::full(&[64, 3], f64::NAN, DType::F32);
    let h = m
        .fit(
            (&bad, &Tensor::zeros(&[64], DType::I64)),
            FitConfig::default()
                .epochs(5)
                .verbose(Verbosity::Silent)
                .callback(TerminateOnNaN),
        )
        .unwrap();
    assert_eq!(h.epochs, 1);
    assert!(h.last("loss").unwrap().is_nan());
}
