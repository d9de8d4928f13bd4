use super::{
    flush_denormal, option_builders, options_access, slot_of, slots, Optimizer, OptimizerOptions,
    Slots,
};
use crate::{Result, Variable};
use rill_core::Gradients;

/// Stochastic gradient descent with Keras' defaults (lr 0.01, no momentum) and Keras' momentum
/// rule: `m = μ·m − lr·g; w += m` (Nesterov: `w += μ·m − lr·g`).
#[derive(Debug)]
pub struct Sgd {
    /// Shared settings: learning rate, clipping, weight decay.
    pub options: OptimizerOptions,
    /// Momentum μ (0 for plain SGD).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    pub(super) velocity: Slots,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Sgd {
            options: OptimizerOptions::new(lr),
            momentum: 0.0,
            nesterov: false,
            velocity: Slots::new(),
        }
    }
    /// SGD with momentum.
    pub fn with_momentum(lr: f64, momentum: f64, nesterov: bool) -> Self {
        Sgd {
            momentum,
            nesterov,
            ..Sgd::new(lr)
        }
    }
}

option_builders!(Sgd);

/// [`Sgd`]'s own hyperparameters, as stored in a compiled model's file (the learning rate and
/// the shared options are stored beside them).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SgdConfig {
    /// See [`Sgd`]'s field of this name.
    pub momentum: f64,
    /// See [`Sgd`]'s field of this name.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        crate::saveable::Saveable::get_config(&Sgd::new(0.01))
    }
}

/// Saved as Keras' `sgd`.
impl crate::saveable::Saveable for Sgd {
    const NAME: &'static str = "sgd";
    type Config = SgdConfig;
    fn get_config(&self) -> SgdConfig {
        SgdConfig {
            momentum: self.momentum,
            nesterov: self.nesterov,
        }
    }
    fn from_config(c: SgdConfig) -> Result<Self> {
        Ok(Sgd {
            momentum: c.momentum,
            nesterov: c.nesterov,
            ..Sgd::new(0.01)
        })
    }
}

impl Optimizer for Sgd {
    crate::saveable_optimizer!();
    options_access!();
    fn slots(&self) -> Vec<(&'static str, &Slots)> {
        vec![("velocity", &self.velocity)]
    }
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Slots)> {
        vec![("velocity", &mut self.velocity)]
    }
    fn apply(&mut self, variables: &[Variable], grads: &Gradients) -> Result<()> {
        slots(&mut self.velocity, variables, 0.0)?;
        let (mu, nesterov) = (self.momentum as f32, self.nesterov);
        let velocity = &mut self.velocity;
        self.options.step(variables, grads, |id, w, g, lr, _| {
            for ((w, &g), m) in w.iter_mut().zip(g).zip(slot_of(velocity, id).iter_mut()) {
                if mu == 0.0 {
                    *w -= lr * g;
                } else {
                    *m = flush_denormal(mu * *m - lr * g);
                    *w += if nesterov { mu * *m - lr * g } else { *m };
                }
            }
        })
    }
}
