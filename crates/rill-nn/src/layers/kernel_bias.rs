use super::Regularizer;
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::Tensor;

/// The weights of a layer that multiplies by a kernel and adds a bias (Dense, Conv2D).
#[derive(Debug, Default)]
pub(crate) struct KernelBias {
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl KernelBias {
    /// Creates the kernel from `kernel` (already initialised) and, when `bias` is given, a bias
    /// of `units` from it.
    pub fn create(&mut self, kernel: Tensor, bias: Option<(Initializer, usize)>) -> Result<()> {
        self.kernel = Some(Variable::trainable("kernel", kernel)?);
        self.bias = match bias {
            Some((init, units)) => Some(Variable::trainable("bias", init.init(&[units])?)?),
            None => None,
        };
        Ok(())
    }
    /// The kernel, or an error saying how to build the layer.
    pub fn kernel(&self, kind: &str) -> Result<Tensor> {
        self.kernel
            .as_ref()
            .map(Variable::value)
            .ok_or_else(|| Error::not_built(kind))
    }
    /// `activation(y + bias)`. A ReLU after a bias, the common case, runs as one fused op
    /// ([`Tensor::bias_relu`]): one pass over the output instead of two, each way.
    pub fn bias_and_activation(&self, y: Tensor, activation: &Activation) -> Result<Tensor> {
        match (&self.bias, activation) {
            (Some(b), Activation::Relu) => Ok(y.bias_relu(&b.value())?),
            (Some(b), _) => activation.apply(&y.add(&b.value())?),
            (None, _) => activation.apply(&y),
        }
    }
    pub fn variables(&self) -> Vec<Variable> {
        self.kernel
            .iter()
            .chain(self.bias.iter())
            .cloned()
            .collect()
    }
    pub fn regularization_loss(&self, r: Option<Regularizer>) -> Result<Option<Tensor>> {
        match (r, &self.kernel) {
            (Some(r), Some(k)) => Ok(Some(r.penalty(&k.value())?)),
            _ => Ok(None),
        }
    }
}
