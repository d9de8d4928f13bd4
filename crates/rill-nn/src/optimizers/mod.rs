//! Optimizers with Keras' defaults and update rules. Each keeps one state slot per trainable
//! variable, in the model's variable order, and updates weights in place.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::{Error, Result, Variable};
use rill_core::{Gradients, Tensor};

/// Updates trainable variables from their gradients.
pub trait Optimizer: Send {
    /// The Keras name, e.g. `adam`.
    fn name(&self) -> &'static str;
    /// The current learning rate.
    fn learning_rate(&self) -> f64;
    /// Changes the learning rate (for schedules and callbacks).
    fn set_learning_rate(&mut self, lr: f64);
    /// How many update steps have been applied.
    fn iterations(&self) -> u64;
    /// Applies one step to `variables` (trainable ones, always in the same order).
    fn apply(&mut self, variables: &mut [&mut Variable], grads: &Gradients) -> Result<()>;
}

/// The gradient of `v` as a packed f32 slice owner; a variable the loss does not reach gets none.
pub(crate) fn gradient_of<'g>(v: &Variable, grads: &'g Gradients) -> Option<&'g Tensor> {
    grads.get(&v.value)
}

/// Checks that a variable is f32 and its gradient matches it.
pub(crate) fn check(v: &Variable, g: &Tensor) -> Result<()> {
    if g.shape() != v.value.shape() || v.value.dtype() != rill_core::DType::F32 {
        return Err(Error::Config(format!(
            "optimizer: variable '{}' is {} {:?} but its gradient is {} {:?}",
            v.name,
            v.value.dtype(),
            v.value.shape(),
            g.dtype(),
            g.shape()
        )));
    }
    Ok(())
}

/// Below this many elements an update runs on one thread.
pub(crate) const PARALLEL_UPDATE_MIN: usize = 1 << 22;
