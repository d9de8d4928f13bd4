use crate::Result;
use rill_core::Tensor;

/// A weight penalty added to the loss, as Keras' `kernel_regularizer`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Regularizer {
    /// l1 · Σ|w|
    L1(f64),
    /// l2 · Σw²
    L2(f64),
    /// l1 · Σ|w| + l2 · Σw²
    L1L2(f64, f64),
}

impl Regularizer {
    /// The penalty for weight `w`.
    pub fn penalty(&self, w: &Tensor) -> Result<Tensor> {
        let l1 = |f: f64| w.abs()?.sum(&[], false)?.mul_scalar(f);
        let l2 = |f: f64| w.square()?.sum(&[], false)?.mul_scalar(f);
        Ok(match *self {
            Regularizer::L1(f) => l1(f)?,
            Regularizer::L2(f) => l2(f)?,
            Regularizer::L1L2(a, b) => l1(a)?.add(&l2(b)?)?,
        })
    }
}
