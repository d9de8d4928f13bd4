//! A user's own loss, optimizer, learning-rate schedule and metric save with a compiled model
//! and load like built-in ones once registered ([`rill_nn::saveable`]): the loaded model trains
//! on exactly as the saved one does, bit for bit, and reports the same metrics.

use rill_core::{set_seed, DType, Gradients, Tensor};
use rill_io::{load_model, save_model};
use rill_nn::losses::Loss;
use rill_nn::metrics::{AccuracyKind, Metric, SparseTopKAccuracy};
use rill_nn::optimizers::{LearningRateSchedule, Optimizer, OptimizerOptions, Slots};
use rill_nn::prelude::*;
use rill_nn::saveable::{
    register_loss, register_metric, register_optimizer, register_schedule, Saveable,
};
use rill_nn::{Result, Variable};
use serde::{Deserialize, Serialize};

/// Mean squared error times a constant.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ScaledMse {
    scale: f64,
}

impl Saveable for ScaledMse {
    const NAME: &'static str = "scaled_mse";
    type Config = Self;
    fn get_config(&self) -> Self {
        *self
    }
    fn from_config(c: Self) -> Result<Self> {
        Ok(c)
    }
}

impl Loss for ScaledMse {
    rill_nn::saveable_loss!();
    fn compute(&self, y: &Tensor, p: &Tensor) -> Result<Tensor> {
        Ok(p.sub(y)?
            .square()?
            .mean(&[], false)?
            .mul_scalar(self.scale)?)
    }
    fn check_targets(&self, _: &Tensor, _: &[usize]) -> Result<()> {
        Ok(())
    }
    fn accuracy_kind(&self) -> AccuracyKind {
        AccuracyKind::Binary
    }
}

/// Steps by the sign of the gradient, scaled by `step_scale`, with a running count of steps
/// (its state is its step count, kept by the shared options).
struct SignSgd {
    options: OptimizerOptions,
    step_scale: f64,
}

#[derive(Serialize, Deserialize)]
struct SignSgdConfig {
    step_scale: f64,
}

impl Saveable for SignSgd {
    const NAME: &'static str = "sign_sgd";
    type Config = SignSgdConfig;
    fn get_config(&self) -> SignSgdConfig {
        SignSgdConfig {
            step_scale: self.step_scale,
        }
    }
    fn from_config(c: SignSgdConfig) -> Result<Self> {
        Ok(SignSgd {
            options: OptimizerOptions::new(0.01),
            step_scale: c.step_scale,
        })
    }
}

impl Optimizer for SignSgd {
    rill_nn::saveable_optimizer!();
    fn options(&self) -> &OptimizerOptions {
        &self.options
    }
    fn options_mut(&mut self) -> &mut OptimizerOptions {
        &mut self.options
    }
    fn apply(&mut self, variables: &[Variable], grads: &Gradients) -> Result<()> {
        let scale = self.step_scale as f32;
        self.options.step(variables, grads, |_, w, g, lr, _| {
            for (w, &g) in w.iter_mut().zip(g) {
                if g != 0.0 {
                    *w -= lr * scale * g.signum();
                }
            }
        })
    }
    fn slots(&self) -> Vec<(&'static str, &Slots)> {
        Vec::new()
    }
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Slots)> {
        Vec::new()
    }
}

/// Halves the rate every `every` steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepHalving {
    initial: f64,
    every: u64,
}

impl Saveable for StepHalving {
    const NAME: &'static str = "StepHalving";
    type Config = Self;
    fn get_config(&self) -> Self {
        self.clone()
    }
    fn from_config(c: Self) -> Result<Self> {
        Ok(c)
    }
}

impl LearningRateSchedule for StepHalving {
    fn at(&self, step: u64) -> f64 {
        self.initial * 0.5f64.powi((step / self.every) as i32)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(rill_nn::saveable::schedule_json(self))
    }
}

/// The share of predictions within `tolerance` of their target.
struct WithinTolerance {
    tolerance: f64,
    hits: (u64, u64),
}

impl Saveable for WithinTolerance {
    const NAME: &'static str = "WithinTolerance";
    type Config = WithinToleranceConfig;
    fn get_config(&self) -> WithinToleranceConfig {
        WithinToleranceConfig {
            tolerance: self.tolerance,
        }
    }
    fn from_config(c: WithinToleranceConfig) -> Result<Self> {
        Ok(WithinTolerance {
            tolerance: c.tolerance,
            hits: (0, 0),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct WithinToleranceConfig {
    tolerance: f64,
}

impl Metric for WithinTolerance {
    fn name(&self) -> &str {
        "within_tolerance"
    }
    fn update(&mut self, y: &Tensor, p: &Tensor) -> Result<()> {
        for (a, b) in y.to_f64_vec().iter().zip(p.to_f64_vec()) {
            self.hits.0 += u64::from((a - b).abs() <= self.tolerance);
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
        Some(rill_nn::saveable::metric_json(self))
    }
}

fn data() -> (Tensor, Tensor) {
    let mut g = rill_core::Generator::new(4);
    (
        g.uniform(&[24, 3], -1.0, 1.0, DType::F32).unwrap(),
        g.uniform(&[24, 2], -1.0, 1.0, DType::F32).unwrap(),
    )
}

fn fit(m: &mut Model, epochs: usize) {
    let (x, y) = data();
    let cfg = FitConfig::default()
        .epochs(epochs)
        .batch_size(8)
        .shuffle(false)
        .verbose(Verbosity::Silent);
    m.fit((&x, &y), cfg).unwrap();
}

fn bits(m: &Model) -> Vec<u32> {
    m.get_weights()
        .iter()
        .flat_map(|w| w.to_vec::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
}

#[test]
fn a_users_loss_optimizer_and_schedule_save_and_load_like_built_in_ones() {
    register_loss::<ScaledMse>();
    register_optimizer::<SignSgd>();
    register_schedule::<StepHalving>();
    register_metric::<WithinTolerance>();
    set_seed(5);
    let mut model = Sequential::new(vec![Box::new(Dense::new(2)) as Box<dyn Layer>])
        .with_input_shape(&[3])
        .unwrap();
    let mut optimizer = SignSgd::from_config(SignSgdConfig { step_scale: 0.5 }).unwrap();
    optimizer.options_mut().learning_rate =
        rill_nn::optimizers::LearningRate::Schedule(Box::new(StepHalving {
            initial: 0.1,
            every: 4,
        }));
    let metrics = Metrics::new().object(WithinTolerance {
        tolerance: 0.5,
        hits: (0, 0),
    });
    model
        .compile(optimizer, ScaledMse { scale: 3.0 }, metrics)
        .unwrap();
    fit(&mut model, 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.rill");
    save_model(&model, &path).unwrap();
    let mut back = load_model(&path).unwrap();
    let config = back.training_config().unwrap().unwrap();
    assert_eq!(
        config["losses"][0],
        serde_json::json!({"name": "scaled_mse", "scale": 3.0})
    );
    let opt = &config["optimizer"];
    assert_eq!(opt["name"], "sign_sgd");
    assert_eq!(
        opt["hyperparameters"],
        serde_json::json!({"step_scale": 0.5})
    );
    assert_eq!(
        opt["learning_rate"],
        serde_json::json!({"class_name": "StepHalving", "config": {"initial": 0.1, "every": 4}})
    );
    assert_eq!(
        config["metrics"][0][0],
        serde_json::json!({"class_name": "WithinTolerance", "config": {"tolerance": 0.5}})
    );
    assert_eq!(back.optimizer().unwrap().iterations(), 6);
    // Step 6 of halving every 4: halved once.
    assert_eq!(back.optimizer().unwrap().learning_rate(), 0.05);

    // Both train on exactly alike: the same loss, the same steps at the same rates.
    fit(&mut model, 2);
    fit(&mut back, 2);
    assert_eq!(bits(&model), bits(&back));
    let (x, y) = data();
    let (a, b) = (
        model.evaluate((&x, &y), 8).unwrap(),
        back.evaluate((&x, &y), 8).unwrap(),
    );
    assert_eq!(a["within_tolerance"], b["within_tolerance"]);
    assert_eq!(a["loss"], b["loss"]);
}

#[test]
fn a_top_k_metric_keeps_its_k_through_the_file() {
    set_seed(6);
    let mut model = Sequential::new(vec![Box::new(Dense::new(4)) as Box<dyn Layer>])
        .with_input_shape(&[3])
        .unwrap();
    let metrics = Metrics::new().object(SparseTopKAccuracy::new(2));
    model
        .compile(
            Adam::new(0.01),
            SparseCategoricalCrossentropy::from_logits(),
            metrics,
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("top_k.rill");
    save_model(&model, &path).unwrap();
    let back = load_model(&path).unwrap();
    let config = back.training_config().unwrap().unwrap();
    assert_eq!(
        config["metrics"][0][0],
        serde_json::json!({"class_name": "SparseTopKCategoricalAccuracy", "config": {"k": 2}})
    );
}

#[test]
fn an_unregistered_loss_is_an_error_naming_the_known_ones() {
    let err = rill_nn::losses::from_config(&serde_json::json!({"name": "nobody's_loss"}))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("unknown loss 'nobody's_loss'"), "{err}");
    assert!(
        err.contains("huber") && err.contains("register_loss"),
        "{err}"
    );
    let err = rill_nn::optimizers::from_config(
        &serde_json::json!({"name": "nobody's", "learning_rate": 0.1}),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("adam") && err.contains("register_optimizer"),
        "{err}"
    );
}
