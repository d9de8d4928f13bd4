//! Optimizers with Keras' defaults and update rules. What every Keras optimizer shares —
//! the learning rate (constant or a schedule), gradient clipping (`clipnorm`,
//! `global_clipnorm`, `clipvalue`) and decoupled weight decay — lives in [`OptimizerOptions`]
//! and is applied here once; each optimizer adds only its own update of one variable.

mod adagrad;
mod adam;
mod rmsprop;
pub mod schedules;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use schedules::LearningRateSchedule;
pub use sgd::Sgd;

use crate::{Error, Result, Variable, VariableId};
use rill_core::Gradients;
use std::borrow::Cow;
use std::collections::HashMap;

/// One optimizer state buffer per variable, keyed by the variable's identity (never by its
/// position), so freezing, adding or reordering layers cannot mismatch them.
pub type Slots = HashMap<VariableId, Vec<f32>>;

/// Updates trainable variables from their gradients.
pub trait Optimizer: Send + Sync {
    /// The Keras name, e.g. `adam`.
    fn name(&self) -> &'static str;
    /// The shared settings.
    fn options(&self) -> &OptimizerOptions;
    /// The shared settings, mutably.
    fn options_mut(&mut self) -> &mut OptimizerOptions;
    /// Applies one step to `variables` (the trainable ones; each keeps its own state).
    fn apply(&mut self, variables: &[Variable], grads: &Gradients) -> Result<()>;
    /// The optimizer's own hyperparameters (the shared options are added by [`Optimizer::config`]).
    fn hyperparameters(&self) -> serde_json::Value;
    /// The per-variable state buffers by slot name (e.g. Adam's `m` and `v`).
    fn slots(&self) -> Vec<(&'static str, &Slots)>;
    /// The same buffers, mutably, for restoring a saved state.
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Slots)>;

    /// Everything needed to rebuild this optimizer: its name, hyperparameters, shared options
    /// and step count. A learning-rate schedule cannot be saved (it is code), so it is an error.
    fn config(&self) -> Result<serde_json::Value> {
        let o = self.options();
        let lr = match &o.learning_rate {
            LearningRate::Constant(v) => serde_json::json!(v),
            LearningRate::Schedule(s) => s.config().ok_or_else(|| {
                Error::Config(format!(
                    "{}: this learning-rate schedule is code, and cannot be saved with the model \
                     (a Saveable schedule registered with register_schedule can)",
                    self.name()
                ))
            })?,
        };
        Ok(serde_json::json!({
            "name": self.name(), "learning_rate": lr, "clipnorm": o.clipnorm, "global_clipnorm": o.global_clipnorm,
            "clipvalue": o.clipvalue, "weight_decay": o.weight_decay, "iterations": o.iterations, "hyperparameters": self.hyperparameters()
        }))
    }

    /// How many update steps have been applied.
    fn iterations(&self) -> u64 {
        self.options().iterations
    }
    /// The learning rate for the next step (a schedule is evaluated at the step count).
    fn learning_rate(&self) -> f64 {
        self.options().current_learning_rate()
    }
    /// Sets a constant learning rate (for callbacks); replaces any schedule.
    fn set_learning_rate(&mut self, lr: f64) {
        self.options_mut().learning_rate = LearningRate::Constant(lr);
    }
}

/// A learning rate: fixed, or a function of the step count.
pub enum LearningRate {
    /// The same rate every step.
    Constant(f64),
    /// A rate computed from the step count.
    Schedule(Box<dyn LearningRateSchedule>),
}

impl std::fmt::Debug for LearningRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LearningRate::Constant(v) => write!(f, "Constant({v})"),
            LearningRate::Schedule(_) => write!(f, "Schedule(..)"),
        }
    }
}

/// What every optimizer has, with Keras' defaults (no clipping, no weight decay).
#[derive(Debug)]
pub struct OptimizerOptions {
    /// The step size.
    pub learning_rate: LearningRate,
    /// Rescale each gradient to at most this L2 norm.
    pub clipnorm: Option<f64>,
    /// Rescale all gradients together to at most this joint L2 norm.
    pub global_clipnorm: Option<f64>,
    /// Clip each gradient element to [−v, v].
    pub clipvalue: Option<f64>,
    /// Decoupled weight decay: `w −= lr · wd · w` before each update.
    pub weight_decay: f64,
    /// Steps applied so far.
    pub iterations: u64,
}

impl OptimizerOptions {
    /// Options with learning rate `lr` and nothing else.
    pub fn new(lr: f64) -> Self {
        OptimizerOptions {
            learning_rate: LearningRate::Constant(lr),
            clipnorm: None,
            global_clipnorm: None,
            clipvalue: None,
            weight_decay: 0.0,
            iterations: 0,
        }
    }

    fn current_learning_rate(&self) -> f64 {
        match &self.learning_rate {
            LearningRate::Constant(v) => *v,
            LearningRate::Schedule(s) => s.at(self.iterations),
        }
    }

    /// Runs one optimizer step: clips the gradients, applies weight decay, then calls
    /// `update(variable, weights, gradient, lr, step)` for every variable that has a gradient
    /// (`step` counts from 1). A user's [`Optimizer::apply`] calls it with its own update.
    pub fn step(
        &mut self,
        variables: &[Variable],
        grads: &Gradients,
        mut update: impl FnMut(VariableId, &mut [f32], &[f32], f32, u64),
    ) -> Result<()> {
        let set = [
            self.clipnorm.is_some(),
            self.global_clipnorm.is_some(),
            self.clipvalue.is_some(),
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if set > 1 {
            return Err(Error::Config(
                "optimizer: set only one of clipnorm, global_clipnorm and clipvalue, as in Keras"
                    .into(),
            ));
        }
        let lr = self.current_learning_rate();
        self.iterations += 1;
        let step = self.iterations;
        let mut gs: Vec<Option<Cow<[f32]>>> = Vec::with_capacity(variables.len());
        for v in variables.iter() {
            match grads.get(&v.value()) {
                Some(g) => {
                    check(v, g)?;
                    gs.push(Some(g.data::<f32>()?));
                }
                None => gs.push(None),
            }
        }
        let norm = |g: &[f32]| {
            g.iter()
                .map(|&x| (x as f64) * (x as f64))
                .sum::<f64>()
                .sqrt()
        };
        let scale = |g: &mut Cow<[f32]>, s: f32| g.to_mut().iter_mut().for_each(|x| *x *= s);
        if let Some(c) = self.clipnorm {
            for g in gs.iter_mut().flatten() {
                let n = norm(g);
                if n > c {
                    scale(g, (c / n) as f32);
                }
            }
        }
        if let Some(c) = self.global_clipnorm {
            let n = gs
                .iter()
                .flatten()
                .map(|g| norm(g).powi(2))
                .sum::<f64>()
                .sqrt();
            if n > c {
                gs.iter_mut()
                    .flatten()
                    .for_each(|g| scale(g, (c / n) as f32));
            }
        }
        if let Some(c) = self.clipvalue {
            let c = c as f32;
            for g in gs.iter_mut().flatten() {
                g.to_mut().iter_mut().for_each(|x| *x = x.clamp(-c, c));
            }
        }
        let decay = (lr * self.weight_decay) as f32;
        for (var, g) in variables.iter().zip(&gs) {
            let Some(g) = g else { continue };
            var.update::<f32>(|w| {
                if decay != 0.0 {
                    w.iter_mut().for_each(|x| *x -= decay * *x);
                }
                update(var.id(), w, g, lr as f32, step);
            })?;
        }
        Ok(())
    }
}

/// Checks that a variable is f32 and its gradient matches it.
fn check(v: &Variable, g: &rill_core::Tensor) -> Result<()> {
    let value = v.value();
    if g.shape() != value.shape() || value.dtype() != rill_core::DType::F32 {
        return Err(Error::Config(format!(
            "optimizer: variable '{}' is {} {:?} but its gradient is {} {:?}",
            v.name(),
            value.dtype(),
            value.shape(),
            g.dtype(),
            g.shape()
        )));
    }
    Ok(())
}

/// Zero for subnormal values: optimizer state that decays geometrically (a weight whose
/// gradient is always zero) would otherwise sink into the range where float operations are
/// many times slower.
#[inline(always)]
pub(crate) fn flush_denormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// One state buffer per variable, created (zeroed, or at `init`) the first time the optimizer
/// meets that variable. A buffer whose size no longer fits its variable (state restored from a
/// different model) is an error, never a silent partial update.
pub(crate) fn slots(state: &mut Slots, variables: &[Variable], init: f32) -> Result<()> {
    for v in variables {
        let n = v.numel();
        let buffer = state.entry(v.id()).or_insert_with(|| vec![init; n]);
        if buffer.len() != n {
            return Err(Error::Config(format!(
                "optimizer: its state for variable '{}' holds {} values, the variable {n}",
                v.name(),
                buffer.len()
            )));
        }
    }
    Ok(())
}

/// The buffer of variable `id`, created by [`slots`] before the step.
pub(crate) fn slot_of(state: &mut Slots, id: VariableId) -> &mut [f32] {
    state
        .get_mut(&id)
        .map(Vec::as_mut_slice)
        .unwrap_or_default()
}

/// Builder methods for the shared options, on every optimizer.
macro_rules! option_builders {
    ($ty:ty) => {
        impl $ty {
            /// Rescales each gradient to at most this L2 norm.
            pub fn clipnorm(mut self, v: f64) -> Self {
                self.options.clipnorm = Some(v);
                self
            }
            /// Rescales all gradients together to at most this joint L2 norm.
            pub fn global_clipnorm(mut self, v: f64) -> Self {
                self.options.global_clipnorm = Some(v);
                self
            }
            /// Clips each gradient element to [−v, v].
            pub fn clipvalue(mut self, v: f64) -> Self {
                self.options.clipvalue = Some(v);
                self
            }
            /// Decoupled weight decay.
            pub fn weight_decay(mut self, wd: f64) -> Self {
                self.options.weight_decay = wd;
                self
            }
            /// Uses a learning-rate schedule instead of a constant rate.
            pub fn schedule(
                mut self,
                s: impl $crate::optimizers::LearningRateSchedule + 'static,
            ) -> Self {
                self.options.learning_rate =
                    $crate::optimizers::LearningRate::Schedule(Box::new(s));
                self
            }
        }
    };
}
pub(crate) use option_builders;

/// The `Optimizer` accessors every optimizer writes the same way.
macro_rules! options_access {
    () => {
        fn options(&self) -> &$crate::optimizers::OptimizerOptions {
            &self.options
        }
        fn options_mut(&mut self) -> &mut $crate::optimizers::OptimizerOptions {
            &mut self.options
        }
    };
}
pub(crate) use options_access;

/// Rebuilds an optimizer (without its state buffers) from [`Optimizer::config`]: a built-in
/// one or one registered with [`register_optimizer`](crate::saveable::register_optimizer), at
/// a constant learning rate or a saved schedule.
pub fn from_config(c: &serde_json::Value) -> Result<Box<dyn Optimizer>> {
    let learning_rate = match &c["learning_rate"] {
        serde_json::Value::Number(n) => LearningRate::Constant(n.as_f64().unwrap_or(0.0)),
        schedule @ serde_json::Value::Object(_) => {
            LearningRate::Schedule(crate::saveable::new_schedule(schedule)?)
        }
        _ => {
            return Err(Error::Config(
                "optimizer config: missing learning_rate".into(),
            ))
        }
    };
    let name = c["name"].as_str().unwrap_or_default();
    let mut opt = crate::saveable::new_optimizer(name, &c["hyperparameters"])?;
    opt.options_mut().learning_rate = learning_rate;
    let o = opt.options_mut();
    o.clipnorm = c["clipnorm"].as_f64();
    o.global_clipnorm = c["global_clipnorm"].as_f64();
    o.clipvalue = c["clipvalue"].as_f64();
    o.weight_decay = c["weight_decay"].as_f64().unwrap_or(0.0);
    o.iterations = c["iterations"].as_u64().unwrap_or(0);
    Ok(opt)
}
