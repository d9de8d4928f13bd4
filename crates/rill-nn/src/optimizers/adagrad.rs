use super::{option_builders, options_access, slot_of, slots, Optimizer, OptimizerOptions, Slots};
use crate::{Result, Variable};
use rill_core::Gradients;

/// Adagrad with Keras' defaults (lr 1e-3, initial accumulator 0.1, ε 1e-7):
/// `a += g²; w −= lr·g / √(a + ε)`.
#[derive(Debug)]
pub struct Adagrad {
    /// Shared settings: learning rate, clipping, weight decay.
    pub options: OptimizerOptions,
    /// Starting value of the squared-gradient sums.
    pub initial_accumulator_value: f64,
    /// Added under the square root.
    pub epsilon: f64,
    pub(super) accumulators: Slots,
}

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad::new(1e-3)
    }
}

impl Adagrad {
    /// Adagrad with learning rate `lr` and the other defaults.
    pub fn new(lr: f64) -> Self {
        Adagrad {
            options: OptimizerOptions::new(lr),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            accumulators: Slots::new(),
        }
    }
}

option_builders!(Adagrad);

/// [`Adagrad`]'s own hyperparameters, as stored in a compiled model's file (the learning rate and
/// the shared options are stored beside them).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AdagradConfig {
    /// See [`Adagrad`]'s field of this name.
    pub initial_accumulator_value: f64,
    /// See [`Adagrad`]'s field of this name.
    pub epsilon: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        crate::saveable::Saveable::get_config(&Adagrad::new(1e-3))
    }
}

/// Saved as Keras' `adagrad`.
impl crate::saveable::Saveable for Adagrad {
    const NAME: &'static str = "adagrad";
    type Config = AdagradConfig;
    fn get_config(&self) -> AdagradConfig {
        AdagradConfig {
            initial_accumulator_value: self.initial_accumulator_value,
            epsilon: self.epsilon,
        }
    }
    fn from_config(c: AdagradConfig) -> Result<Self> {
        Ok(Adagrad {
            initial_accumulator_value: c.initial_accumulator_value,
            epsilon: c.epsilon,
            ..Adagrad::new(1e-3)
        })
    }
}

impl Optimizer for Adagrad {
    crate::saveable_optimizer!();
    options_access!();
    fn slots(&self) -> Vec<(&'static str, &Slots)> {
        vec![("accumulator", &self.accumulators)]
    }
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Slots)> {
        vec![("accumulator", &mut self.accumulators)]
    }
    fn apply(&mut self, variables: &[Variable], grads: &Gradients) -> Result<()> {
        slots(
            &mut self.accumulators,
            variables,
            self.initial_accumulator_value as f32,
        )?;
        let eps = self.epsilon as f32;
        let acc = &mut self.accumulators;
        self.options.step(variables, grads, |id, w, g, lr, _| {
            for ((w, &g), a) in w.iter_mut().zip(g).zip(slot_of(acc, id).iter_mut()) {
                *a += g * g;
                *w -= lr * g / (*a + eps).sqrt();
            }
        })
    }
}
