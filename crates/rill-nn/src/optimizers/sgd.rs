use super::{check, gradient_of, Optimizer};
use crate::{Result, Variable};
use rill_core::Gradients;

/// Stochastic gradient descent with Keras' defaults (lr 0.01, no momentum) and Keras' momentum
/// rule: `m = μ·m − lr·g; w += m` (Nesterov: `w += μ·m − lr·g`).
#[derive(Debug, Clone)]
pub struct Sgd {
    /// Step size.
    pub learning_rate: f64,
    /// Momentum μ (0 for plain SGD).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    step: u64,
    velocity: Vec<Vec<f32>>,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
            step: 0,
            velocity: Vec::new(),
        }
    }
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Sgd {
            learning_rate: lr,
            ..Default::default()
        }
    }
    /// SGD with momentum.
    pub fn with_momentum(lr: f64, momentum: f64, nesterov: bool) -> Self {
        Sgd {
            learning_rate: lr,
            momentum,
            nesterov,
            ..Default::default()
        }
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.learning_rate = lr;
    }
    fn iterations(&self) -> u64 {
        self.step
    }
    fn apply(&mut self, variables: &mut [&mut Variable], grads: &Gradients) -> Result<()> {
        if self.velocity.len() != variables.len() {
            self.velocity = variables.iter().map(|v| vec![0.0; v.numel()]).collect();
        }
        self.step += 1;
        let (lr, mu) = (self.learning_rate as f32, self.momentum as f32);
        for (var, vel) in variables.iter_mut().zip(self.velocity.iter_mut()) {
            let Some(g) = gradient_of(var, grads) else {
                continue;
            };
            check(var, g)?;
            let g = g.data::<f32>()?;
            let nesterov = self.nesterov;
            var.value.update::<f32>(|w| {
                for ((w, &g), m) in w.iter_mut().zip(g.iter()).zip(vel.iter_mut()) {
                    if mu == 0.0 {
                        *w -= lr * g;
                    } else {
                        *m = super::adam::flush_denormal(mu * *m - lr * g);
                        *w += if nesterov { mu * *m - lr * g } else { *m };
                    }
                }
            })?;
        }
        Ok(())
    }
}
