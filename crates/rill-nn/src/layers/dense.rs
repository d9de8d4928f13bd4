use super::kernel_bias::KernelBias;
use super::{Layer, Regularizer};
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::Tensor;

/// A fully connected layer: `activation(x · kernel + bias)` over the last axis.
///
/// ```
/// use rill_nn::{layers::{Dense, Layer}, Activation};
/// let mut d = Dense::new(128).activation(Activation::Relu);
/// assert_eq!(d.build(&[784])?, vec![128]);
/// assert_eq!(d.variables().iter().map(|v| v.numel()).sum::<usize>(), 784 * 128 + 128);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Dense {
    name: String,
    units: usize,
    activation: Activation,
    weights: KernelBias,
}

impl Dense {
    /// A dense layer with `units` outputs, no activation, a bias, Glorot-uniform kernel.
    pub fn new(units: usize) -> Self {
        Dense {
            name: String::new(),
            units,
            activation: Activation::Linear,
            weights: KernelBias::default(),
        }
    }
    /// Sets the activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    /// Turns the bias on or off.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.weights.use_bias = on;
        self
    }
    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.weights.kernel_initializer = i;
        self
    }
    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, i: Initializer) -> Self {
        self.weights.bias_initializer = i;
        self
    }
    /// Adds a kernel penalty to the loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.weights.kernel_regularizer = Some(r);
        self
    }
    /// Names the layer.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let Some(&features) = input_shape.last() else {
            return Err(Error::Config(format!("{}: Dense needs inputs with at least one feature axis, found per-sample shape {input_shape:?}", self.name)));
        };
        if self.units == 0 {
            return Err(Error::Config(format!(
                "{}: Dense needs at least one unit",
                self.name
            )));
        }
        let kernel = self
            .weights
            .kernel_initializer
            .init(&[features, self.units])?;
        self.weights.create(kernel, self.units)?;
        let mut out = input_shape.to_vec();
        *out.last_mut().expect("non-empty") = self.units;
        Ok(out)
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let y = x.matmul(self.weights.kernel(&self.name)?)?;
        self.weights.bias_and_activation(y, &self.activation)
    }
    fn variables(&self) -> Vec<&Variable> {
        self.weights.variables()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.weights.variables_mut()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.weights.regularization_loss()
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(
            serde_json::json!({"name": self.name, "units": self.units, "activation": self.activation.name(), "use_bias": self.weights.use_bias, "kernel_regularizer": self.weights.kernel_regularizer.map(|r| r.config())}),
        )
    }
}
