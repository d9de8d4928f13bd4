use super::Regularizer;
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::Tensor;

/// The weights of a layer that multiplies by a kernel and adds a bias (Dense, Conv2D), with the
/// options both layers share.
#[derive(Debug)]
pub(crate) struct KernelBias {
    pub use_bias: bool,
    pub kernel_initializer: Initializer,
    pub bias_initializer: Initializer,
    pub kernel_regularizer: Option<Regularizer>,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Default for KernelBias {
    fn default() -> Self {
        KernelBias {
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            kernel: None,
            bias: None,
        }
    }
}

impl KernelBias {
    /// Creates the kernel from `kernel` (already initialised) and, when on, a bias of `units`.
    pub fn create(&mut self, kernel: Tensor, units: usize) -> Result<()> {
        self.kernel = Some(Variable::trainable("kernel", kernel)?);
        self.bias = if self.use_bias {
            Some(Variable::trainable(
                "bias",
                self.bias_initializer.init(&[units])?,
            )?)
        } else {
            None
        };
        Ok(())
    }
    /// The kernel, or an error naming `layer` when it was never built.
    pub fn kernel(&self, layer: &str) -> Result<&Tensor> {
        self.kernel
            .as_ref()
            .map(|k| &k.value)
            .ok_or_else(|| Error::Config(format!("{layer}: call before build")))
    }
    /// `y + bias` when there is a bias.
    pub fn add_bias(&self, y: Tensor) -> Result<Tensor> {
        Ok(match &self.bias {
            Some(b) => y.add(&b.value)?,
            None => y,
        })
    }
    /// `activation(y + bias)`. A ReLU after a bias, the common case, runs as one fused op
    /// ([`Tensor::bias_relu`]): one pass over the output instead of two, each way.
    pub fn bias_and_activation(&self, y: Tensor, activation: &Activation) -> Result<Tensor> {
        match (&self.bias, activation) {
            (Some(b), Activation::Relu) => Ok(y.bias_relu(&b.value)?),
            _ => activation.apply(&self.add_bias(y)?),
        }
    }
    pub fn variables(&self) -> Vec<&Variable> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }
    pub fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    pub fn regularization_loss(&self) -> Result<Option<Tensor>> {
        match (&self.kernel_regularizer, &self.kernel) {
            (Some(r), Some(k)) => Ok(Some(r.penalty(&k.value)?)),
            _ => Ok(None),
        }
    }
}
