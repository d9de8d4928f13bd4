use super::{
    flush_denormal, option_builders, options_access, slot_of, slots, Optimizer, OptimizerOptions,
    Slots,
};
use crate::{Result, Variable};
use rill_core::Gradients;

/// RMSprop with Keras' defaults (lr 1e-3, ρ 0.9, no momentum, ε 1e-7, not centred):
/// `v = ρv + (1−ρ)g²; w −= lr·g / √(v + ε)` (centred: `√(v − ḡ² + ε)`; with momentum the
/// increment accumulates as `m = μm + increment`).
#[derive(Debug)]
pub struct RmsProp {
    /// Shared settings: learning rate, clipping, weight decay.
    pub options: OptimizerOptions,
    /// Decay of the squared-gradient average.
    pub rho: f64,
    /// Momentum of the increments.
    pub momentum: f64,
    /// Added under the square root.
    pub epsilon: f64,
    /// Normalise by the variance rather than the raw second moment.
    pub centered: bool,
    pub(super) velocity: Slots,
    pub(super) average: Slots,
    pub(super) moment: Slots,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::new(1e-3)
    }
}

impl RmsProp {
    /// RMSprop with learning rate `lr` and the other defaults.
    pub fn new(lr: f64) -> Self {
        RmsProp {
            options: OptimizerOptions::new(lr),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            velocity: Slots::new(),
            average: Slots::new(),
            moment: Slots::new(),
        }
    }
}

option_builders!(RmsProp);

/// [`RmsProp`]'s own hyperparameters, as stored in a compiled model's file (the learning rate and
/// the shared options are stored beside them).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RmsPropConfig {
    /// See [`RmsProp`]'s field of this name.
    pub rho: f64,
    /// See [`RmsProp`]'s field of this name.
    pub momentum: f64,
    /// See [`RmsProp`]'s field of this name.
    pub epsilon: f64,
    /// See [`RmsProp`]'s field of this name.
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        crate::saveable::Saveable::get_config(&RmsProp::new(1e-3))
    }
}

/// Saved as Keras' `rmsprop`.
impl crate::saveable::Saveable for RmsProp {
    const NAME: &'static str = "rmsprop";
    type Config = RmsPropConfig;
    fn get_config(&self) -> RmsPropConfig {
        RmsPropConfig {
            rho: self.rho,
            momentum: self.momentum,
            epsilon: self.epsilon,
            centered: self.centered,
        }
    }
    fn from_config(c: RmsPropConfig) -> Result<Self> {
        Ok(RmsProp {
            rho: c.rho,
            momentum: c.momentum,
            epsilon: c.epsilon,
            centered: c.centered,
            ..RmsProp::new(1e-3)
        })
    }
}

impl Optimizer for RmsProp {
    crate::saveable_optimizer!();
    options_access!();
    fn slots(&self) -> Vec<(&'static str, &Slots)> {
        vec![
            ("velocity", &self.velocity),
            ("average", &self.average),
            ("momentum", &self.moment),
        ]
    }
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Slots)> {
        vec![
            ("velocity", &mut self.velocity),
            ("average", &mut self.average),
            ("momentum", &mut self.moment),
        ]
    }
    fn apply(&mut self, variables: &[Variable], grads: &Gradients) -> Result<()> {
        for s in [&mut self.velocity, &mut self.average, &mut self.moment] {
            slots(s, variables, 0.0)?;
        }
        let (rho, mu, eps, centered) = (
            self.rho as f32,
            self.momentum as f32,
            self.epsilon as f32,
            self.centered,
        );
        let (vel, avg, mom) = (&mut self.velocity, &mut self.average, &mut self.moment);
        self.options.step(variables, grads, |id, w, g, lr, _| {
            let (vel, avg, mom) = (slot_of(vel, id), slot_of(avg, id), slot_of(mom, id));
            for (i, (w, &g)) in w.iter_mut().zip(g).enumerate() {
                let v = &mut vel[i];
                *v = flush_denormal(rho * *v + (1.0 - rho) * g * g);
                let denominator = if centered {
                    let a = &mut avg[i];
                    *a = flush_denormal(rho * *a + (1.0 - rho) * g);
                    *v - *a * *a + eps
                } else {
                    *v + eps
                };
                let increment = lr * g / denominator.sqrt();
                if mu > 0.0 {
                    let m = &mut mom[i];
                    *m = flush_denormal(mu * *m + increment);
                    *w -= *m;
                } else {
                    *w -= increment;
                }
            }
        })
    }
}
