//! Losses, optimizers, learning-rate schedules and metrics rebuilt from typed configs, as layers
//! are ([`Configurable`](crate::layers::Configurable) and its registry): one trait, [`Saveable`],
//! and one registry per family holding the built-in ones and every one a user registers — so a
//! user's own loss, optimizer or schedule saves with a compiled model and loads like a
//! built-in one (Keras' `get_config` / `from_config` through its object registry).
//!
//! ```
//! use rill_nn::losses::Loss;
//! use rill_nn::saveable::{register_loss, Saveable};
//! use rill_nn::{metrics::AccuracyKind, Result};
//! use rill_core::Tensor;
//!
//! /// Mean squared error times a constant.
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct ScaledMse { scale: f64 }
//!
//! impl Saveable for ScaledMse {
//!     const NAME: &'static str = "scaled_mse";
//!     type Config = ScaledMse;
//!     fn get_config(&self) -> ScaledMse { ScaledMse { scale: self.scale } }
//!     fn from_config(c: ScaledMse) -> Result<Self> { Ok(c) }
//! }
//!
//! impl Loss for ScaledMse {
//!     rill_nn::saveable_loss!();
//!     fn compute(&self, y: &Tensor, p: &Tensor) -> Result<Tensor> {
//!         Ok(p.sub(y)?.square()?.mean(&[], false)?.mul_scalar(self.scale)?)
//!     }
//!     fn check_targets(&self, _: &Tensor, _: &[usize]) -> Result<()> { Ok(()) }
//!     fn accuracy_kind(&self) -> AccuracyKind { AccuracyKind::Binary }
//! }
//!
//! register_loss::<ScaledMse>();
//! let stored = ScaledMse { scale: 2.0 }.config();
//! assert_eq!(stored, serde_json::json!({"name": "scaled_mse", "scale": 2.0}));
//! assert_eq!(rill_nn::losses::from_config(&stored)?.name(), "scaled_mse");
//! # Ok::<(), rill_nn::Error>(())
//! ```

use crate::losses::{self, Loss};
use crate::metrics::{self, Metric};
use crate::optimizers::{self, LearningRateSchedule, Optimizer};
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// A loss, optimizer, learning-rate schedule or metric rebuilt from a typed configuration.
pub trait Saveable: Sized + 'static {
    /// The name stored in files: Keras' (`huber`, `adam`, `ExponentialDecay`) for built-ins.
    const NAME: &'static str;
    /// The arguments (for an optimizer, its own hyperparameters: the learning rate, clipping
    /// and weight decay are every optimizer's and stored beside them).
    type Config: Serialize + DeserializeOwned;
    /// The arguments of this object.
    fn get_config(&self) -> Self::Config;
    /// A fresh object from its arguments; checks them.
    fn from_config(config: Self::Config) -> Result<Self>;
}

/// The typed config of `object` as a JSON object (an empty one if it is not an object).
pub fn config_json<T: Saveable>(object: &T) -> Map<String, Value> {
    match serde_json::to_value(object.get_config()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A loss's stored form: its name beside its config's fields.
pub fn loss_json<T: Saveable>(loss: &T) -> Value {
    let mut map = config_json(loss);
    map.insert("name".into(), Value::from(T::NAME));
    Value::Object(map)
}

/// A schedule's stored form: Keras' `{"class_name": …, "config": {…}}`.
pub fn schedule_json<T: Saveable>(schedule: &T) -> Value {
    serde_json::json!({"class_name": T::NAME, "config": config_json(schedule)})
}

/// A metric's stored form: Keras' `{"class_name": …, "config": {…}}`.
pub fn metric_json<T: Saveable>(metric: &T) -> Value {
    serde_json::json!({"class_name": T::NAME, "config": config_json(metric)})
}

fn typed<T: Saveable>(what: &str, config: &Value) -> Result<T> {
    let config = if config.is_null() {
        Value::Object(Map::new())
    } else {
        config.clone()
    };
    let typed = serde_json::from_value(config)
        .map_err(|e| Error::Config(format!("{what} '{}': {e}", T::NAME)))?;
    T::from_config(typed)
}

type LossFactory = fn(&Value) -> Result<Box<dyn Loss>>;
type OptimizerFactory = fn(&Value) -> Result<Box<dyn Optimizer>>;
type ScheduleFactory = fn(&Value) -> Result<Box<dyn LearningRateSchedule>>;
type MetricFactory = fn(&Value) -> Result<Box<dyn Metric>>;
type Registry<F> = RwLock<HashMap<&'static str, F>>;

fn loss_factory<L: Loss + Saveable>(config: &Value) -> Result<Box<dyn Loss>> {
    Ok(Box::new(typed::<L>("loss", config)?))
}

fn optimizer_factory<O: Optimizer + Saveable>(config: &Value) -> Result<Box<dyn Optimizer>> {
    Ok(Box::new(typed::<O>("optimizer", config)?))
}

fn schedule_factory<S: LearningRateSchedule + Saveable>(
    config: &Value,
) -> Result<Box<dyn LearningRateSchedule>> {
    Ok(Box::new(typed::<S>("learning-rate schedule", config)?))
}

fn metric_factory<M: Metric + Saveable>(config: &Value) -> Result<Box<dyn Metric>> {
    Ok(Box::new(typed::<M>("metric", config)?))
}

fn metric_registry() -> &'static Registry<MetricFactory> {
    static R: OnceLock<Registry<MetricFactory>> = OnceLock::new();
    R.get_or_init(|| {
        let f: [(&'static str, MetricFactory); 1] = [(
            metrics::SparseTopKAccuracy::NAME,
            metric_factory::<metrics::SparseTopKAccuracy>,
        )];
        RwLock::new(f.into_iter().collect())
    })
}

fn loss_registry() -> &'static Registry<LossFactory> {
    static R: OnceLock<Registry<LossFactory>> = OnceLock::new();
    R.get_or_init(|| {
        use losses::*;
        let f: [(&'static str, LossFactory); 6] = [
            (
                SparseCategoricalCrossentropy::NAME,
                loss_factory::<SparseCategoricalCrossentropy>,
            ),
            (
                CategoricalCrossentropy::NAME,
                loss_factory::<CategoricalCrossentropy>,
            ),
            (BinaryCrossentropy::NAME, loss_factory::<BinaryCrossentropy>),
            (MeanSquaredError::NAME, loss_factory::<MeanSquaredError>),
            (MeanAbsoluteError::NAME, loss_factory::<MeanAbsoluteError>),
            (Huber::NAME, loss_factory::<Huber>),
        ];
        RwLock::new(f.into_iter().collect())
    })
}

fn optimizer_registry() -> &'static Registry<OptimizerFactory> {
    static R: OnceLock<Registry<OptimizerFactory>> = OnceLock::new();
    R.get_or_init(|| {
        use optimizers::*;
        let f: [(&'static str, OptimizerFactory); 5] = [
            (Adam::NAME, optimizer_factory::<Adam>),
            // Adam with weight decay calls itself AdamW, as Keras' does.
            ("adamw", optimizer_factory::<Adam>),
            (Sgd::NAME, optimizer_factory::<Sgd>),
            (RmsProp::NAME, optimizer_factory::<RmsProp>),
            (Adagrad::NAME, optimizer_factory::<Adagrad>),
        ];
        RwLock::new(f.into_iter().collect())
    })
}

fn schedule_registry() -> &'static Registry<ScheduleFactory> {
    static R: OnceLock<Registry<ScheduleFactory>> = OnceLock::new();
    R.get_or_init(|| {
        use optimizers::schedules::*;
        let f: [(&'static str, ScheduleFactory); 3] = [
            (ExponentialDecay::NAME, schedule_factory::<ExponentialDecay>),
            (
                PiecewiseConstantDecay::NAME,
                schedule_factory::<PiecewiseConstantDecay>,
            ),
            (CosineDecay::NAME, schedule_factory::<CosineDecay>),
        ];
        RwLock::new(f.into_iter().collect())
    })
}

fn insert<F>(registry: &Registry<F>, name: &'static str, factory: F) {
    registry
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name, factory);
}

fn names<F>(registry: &Registry<F>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = registry
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .copied()
        .collect();
    names.sort_unstable();
    names
}

fn find<F: Copy>(registry: &Registry<F>, what: &str, register: &str, name: &str) -> Result<F> {
    let found = registry
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .copied();
    found.ok_or_else(|| {
        Error::Config(format!(
            "unknown {what} '{name}': the known ones are {}; register your own with {register}",
            names(registry).join(", ")
        ))
    })
}

/// Registers a loss, so that models compiled with it save and load (call once, before loading).
pub fn register_loss<L: Loss + Saveable>() {
    insert(loss_registry(), L::NAME, loss_factory::<L>);
}

/// Registers an optimizer, so that models compiled with it save and load.
pub fn register_optimizer<O: Optimizer + Saveable>() {
    insert(optimizer_registry(), O::NAME, optimizer_factory::<O>);
}

/// Registers a learning-rate schedule, so that optimizers following it save and load.
pub fn register_schedule<S: LearningRateSchedule + Saveable>() {
    insert(schedule_registry(), S::NAME, schedule_factory::<S>);
}

/// Registers a metric with arguments, so that models compiled with it save and load with them.
pub fn register_metric<M: Metric + Saveable>() {
    insert(metric_registry(), M::NAME, metric_factory::<M>);
}

/// Every metric class a stored metric may name (metrics without arguments are stored by their
/// Keras name and rebuilt from it: [`metrics::from_name`]), sorted.
pub fn metric_names() -> Vec<&'static str> {
    names(metric_registry())
}

/// Every loss name [`losses::from_config`] knows, sorted.
pub fn loss_names() -> Vec<&'static str> {
    names(loss_registry())
}

/// Every optimizer name [`optimizers::from_config`] knows, sorted.
pub fn optimizer_names() -> Vec<&'static str> {
    names(optimizer_registry())
}

/// Every schedule name an optimizer's stored learning rate may name, sorted.
pub fn schedule_names() -> Vec<&'static str> {
    names(schedule_registry())
}

/// The loss `name` from its config's fields.
pub(crate) fn new_loss(name: &str, config: &Value) -> Result<Box<dyn Loss>> {
    find(loss_registry(), "loss", "register_loss", name)?(config)
}

/// The optimizer `name` from its hyperparameters (at its default learning rate).
pub(crate) fn new_optimizer(name: &str, hyperparameters: &Value) -> Result<Box<dyn Optimizer>> {
    find(
        optimizer_registry(),
        "optimizer",
        "register_optimizer",
        name,
    )?(hyperparameters)
}

/// A schedule from its stored form ([`schedule_json`]).
pub(crate) fn new_schedule(stored: &Value) -> Result<Box<dyn LearningRateSchedule>> {
    let name = stored["class_name"].as_str().unwrap_or_default();
    find(
        schedule_registry(),
        "learning-rate schedule",
        "register_schedule",
        name,
    )?(&stored["config"])
}

/// A metric from its stored form ([`metric_json`]).
pub(crate) fn new_metric(stored: &Value) -> Result<Box<dyn Metric>> {
    let name = stored["class_name"].as_str().unwrap_or_default();
    find(metric_registry(), "metric", "register_metric", name)?(&stored["config"])
}

/// The [`Saveable`] impl of an object that is plain data — its own config — stored as `$name`.
macro_rules! saveable_as_data {
    ($ty:ty, $name:expr) => {
        impl $crate::saveable::Saveable for $ty {
            const NAME: &'static str = $name;
            type Config = Self;
            fn get_config(&self) -> Self {
                self.clone()
            }
            fn from_config(config: Self) -> $crate::Result<Self> {
                Ok(config)
            }
        }
    };
}
pub(crate) use saveable_as_data;

/// Writes the two [`Loss`] methods a [`Saveable`] loss derives from its config: `name` and
/// `config`. Use it inside `impl Loss for …`.
#[macro_export]
macro_rules! saveable_loss {
    () => {
        fn name(&self) -> &'static str {
            <Self as $crate::saveable::Saveable>::NAME
        }
        fn config(&self) -> serde_json::Value {
            $crate::saveable::loss_json(self)
        }
    };
}

/// Writes the two [`Optimizer`] methods a [`Saveable`] optimizer derives from its config:
/// `name` and `hyperparameters`. Use it inside `impl Optimizer for …`.
#[macro_export]
macro_rules! saveable_optimizer {
    () => {
        fn name(&self) -> &'static str {
            <Self as $crate::saveable::Saveable>::NAME
        }
        fn hyperparameters(&self) -> serde_json::Value {
            serde_json::Value::Object($crate::saveable::config_json(self))
        }
    };
}
