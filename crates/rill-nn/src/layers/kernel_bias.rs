use super::Regularizer;
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::Tensor;
use serde::{Deserialize, Serialize};

/// The arguments Dense and Conv2D share: how their weights start and what follows the
/// product. Flattened into their configs, so files keep Keras' flat argument names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KernelBiasConfig {
    /// Applied to the output.
    #[serde(default)]
    pub activation: Activation,
    /// Whether a bias is added.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// The kernel's initial values.
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    /// The bias's initial values.
    #[serde(default)]
    pub bias_initializer: Initializer,
    /// A penalty on the kernel, added to the loss.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
}

fn yes() -> bool {
    true
}
fn glorot() -> Initializer {
    Initializer::GlorotUniform
}

impl Default for KernelBiasConfig {
    /// Keras' defaults: no activation, a zero bias, a Glorot-uniform kernel.
    fn default() -> Self {
        KernelBiasConfig {
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
        }
    }
}

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
    /// ([`Tensor::into_bias_relu`]): one pass over the output instead of two, each way, and in
    /// `y`'s own buffer when no gradient is recorded.
    pub fn bias_and_activation(&self, y: Tensor, activation: &Activation) -> Result<Tensor> {
        match (&self.bias, activation) {
            (Some(b), Activation::Relu) => Ok(y.into_bias_relu(&b.value())?),
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
