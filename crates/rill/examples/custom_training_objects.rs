//! Keras guide "Training & evaluation with the built-in methods" — custom losses, metrics and
//! learning-rate schedules — in Rill: a focal loss, a step-decay schedule and a "confident and
//! right" metric, each with a typed config (`Saveable`), trained on Fashion-MNIST, saved with
//! the compiled model, loaded back once registered (Keras' `custom_objects`), and trained on.
//!
//!     cargo run --release --example custom_training_objects

use rill::nn::losses::{Loss, SparseCategoricalCrossentropy as Sparse};
use rill::nn::metrics::{AccuracyKind, Metric};
use rill::nn::optimizers::{LearningRate, LearningRateSchedule, Optimizer};
use rill::nn::saveable::{register_loss, register_metric, register_schedule, Saveable};
use rill::nn::serde::{Deserialize, Serialize};
use rill::prelude::*;
use std::{error::Error, path::Path};

/// Focal loss over logits (Lin et al.): cross-entropy weighted by `(1 − p)^gamma`, so that
/// the images the model already gets right count less.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(crate = "rill::nn::serde")]
pub struct SparseFocal {
    gamma: f64,
}

impl Saveable for SparseFocal {
    const NAME: &'static str = "sparse_focal";
    type Config = Self;
    fn get_config(&self) -> Self {
        *self
    }
    fn from_config(c: Self) -> rill::nn::Result<Self> {
        Ok(c)
    }
}

impl Loss for SparseFocal {
    rill::nn::saveable_loss!();
    fn compute(&self, y: &Tensor, logits: &Tensor) -> rill::nn::Result<Tensor> {
        let labels = y.to_dtype(DType::I64)?.reshape(&[y.numel(), 1])?;
        let log_p = logits.log_softmax(-1)?.gather(-1, &labels)?;
        let weight = log_p
            .exp()?
            .neg()?
            .add_scalar(1.0)?
            .pow_scalar(self.gamma)?;
        Ok(weight.mul(&log_p)?.mean(&[], false)?.neg()?)
    }
    fn check_targets(&self, y: &Tensor, output_shape: &[usize]) -> rill::nn::Result<()> {
        Sparse::from_logits().check_targets(y, output_shape)
    }
    fn accuracy_kind(&self) -> AccuracyKind {
        AccuracyKind::SparseCategorical
    }
}

/// The rate times `factor` every `every` steps (Keras' guide writes this one by hand too).
#[derive(Clone, Serialize, Deserialize)]
#[serde(crate = "rill::nn::serde")]
pub struct StepDecay {
    initial: f64,
    factor: f64,
    every: u64,
}

impl Saveable for StepDecay {
    const NAME: &'static str = "StepDecay";
    type Config = Self;
    fn get_config(&self) -> Self {
        self.clone()
    }
    fn from_config(c: Self) -> rill::nn::Result<Self> {
        Ok(c)
    }
}

impl LearningRateSchedule for StepDecay {
    fn at(&self, step: u64) -> f64 {
        self.initial * self.factor.powi((step / self.every.max(1)) as i32)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(rill::nn::saveable::schedule_json(self))
    }
}

/// The share of images classified right with a probability of at least `threshold`.
pub struct ConfidentAndRight {
    threshold: f64,
    hits: (u64, u64),
}

/// [`ConfidentAndRight`]'s argument.
#[derive(Serialize, Deserialize)]
#[serde(crate = "rill::nn::serde")]
pub struct ConfidenceConfig {
    threshold: f64,
}

impl Saveable for ConfidentAndRight {
    const NAME: &'static str = "ConfidentAndRight";
    type Config = ConfidenceConfig;
    fn get_config(&self) -> ConfidenceConfig {
        ConfidenceConfig {
            threshold: self.threshold,
        }
    }
    fn from_config(c: ConfidenceConfig) -> rill::nn::Result<Self> {
        Ok(ConfidentAndRight {
            threshold: c.threshold,
            hits: (0, 0),
        })
    }
}

impl Metric for ConfidentAndRight {
    fn name(&self) -> &str {
        "confident_and_right"
    }
    fn update(&mut self, y: &Tensor, logits: &Tensor) -> rill::nn::Result<()> {
        let p = logits.softmax(-1)?.to_vec::<f32>()?;
        let classes = *logits.shape().last().unwrap_or(&1);
        for (row, label) in p.chunks(classes).zip(y.to_f64_vec()) {
            let right = row.get(label as usize).copied().unwrap_or(0.0);
            self.hits.0 += u64::from(f64::from(right) >= self.threshold);
            self.hits.1 += 1;
        }
        Ok(())
    }
    fn result(&self) -> f64 {
        self.hits.0 as f64 / self.hits.1.max(1) as f64
    }
    fn reset(&mut self) {
        self.hits = (0, 0);
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(rill::nn::saveable::metric_json(self))
    }
}

/// Trains on the first `n` images for `epochs`, saves, reloads and trains both one epoch more;
/// returns the test logs of the reloaded model and whether both models stayed equal.
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<(Logs, bool), Box<dyn Error>> {
    rill::core::set_seed(7);
    let mut model = Sequential::new(vec![
        Box::new(Flatten::new()) as Box<dyn Layer>,
        Box::new(Rescaling::new(1.0 / 255.0, 0.0)),
        Box::new(Dense::new(64).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])?;
    let mut adam = Adam::new(1e-3);
    adam.options_mut().learning_rate = LearningRate::Schedule(Box::new(StepDecay {
        initial: 2e-3,
        factor: 0.5,
        every: 200,
    }));
    let metrics = Metrics::new().object(ConfidentAndRight {
        threshold: 0.8,
        hits: (0, 0),
    });
    model.compile(adam, SparseFocal { gamma: 2.0 }, metrics)?;
    let data = rill::datasets::fashion_mnist::load_data()?;
    let (x, y) = (
        data.train.images.slice(0, 0, n)?,
        data.train.labels.slice(0, 0, n)?,
    );
    let quiet = || {
        FitConfig::default()
            .batch_size(64)
            .shuffle(false)
            .verbose(Verbosity::Silent)
    };
    model.fit((&x, &y), quiet().epochs(epochs))?;

    std::fs::create_dir_all(out)?;
    let path = out.join("custom_training_objects.rill");
    model.save(&path)?;
    // Once, before loading a file compiled with them.
    register_loss::<SparseFocal>();
    register_schedule::<StepDecay>();
    register_metric::<ConfidentAndRight>();
    let mut loaded = rill::load_model(&path)?;
    println!(
        "loaded, compiled as {}",
        loaded.training_config()?.unwrap_or_default()
    );

    // Both train on alike: the same loss, rate schedule, step count and optimizer state.
    model.fit((&x, &y), quiet().epochs(epochs + 1).initial_epoch(epochs))?;
    loaded.fit((&x, &y), quiet().epochs(epochs + 1).initial_epoch(epochs))?;
    let same = model
        .get_weights()
        .iter()
        .zip(loaded.get_weights())
        .all(|(a, b)| a.to_vec::<f32>().ok() == b.to_vec::<f32>().ok());
    let test = loaded.evaluate((&data.test.images, &data.test.labels), 256)?;
    println!("test {test:?}; the reloaded model trained on exactly alike: {same}");
    Ok((test, same))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(60_000, 3, "out".as_ref()).map(|_| ())
}
