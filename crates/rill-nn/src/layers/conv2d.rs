use super::kernel_bias::KernelBias;
use super::{Layer, Regularizer};
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::{Conv2dOptions, Padding, Tensor};

/// 2-D convolution over NHWC inputs (Keras' `channels_last`) with an HWIO kernel.
#[derive(Debug)]
pub struct Conv2D {
    name: String,
    filters: usize,
    kernel_size: (usize, usize),
    options: Conv2dOptions,
    activation: Activation,
    weights: KernelBias,
}

impl Conv2D {
    /// `filters` output channels, a `kernel_size` window, stride 1, valid padding.
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv2D {
            name: String::new(),
            filters,
            kernel_size,
            options: Conv2dOptions::default(),
            activation: Activation::Linear,
            weights: KernelBias::default(),
        }
    }
    /// Sets the strides.
    pub fn strides(mut self, s: (usize, usize)) -> Self {
        self.options.strides = s;
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.options.padding = p;
        self
    }
    /// Sets the dilation rate.
    pub fn dilation(mut self, d: (usize, usize)) -> Self {
        self.options.dilation = d;
        self
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
    /// Adds a kernel penalty to the loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.weights.kernel_regularizer = Some(r);
        self
    }
}

impl Layer for Conv2D {
    fn kind(&self) -> &'static str {
        "Conv2D"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::Config(format!("{}: Conv2D expects per-sample inputs (height, width, channels), found {input_shape:?}", self.name)));
        }
        let (kh, kw) = self.kernel_size;
        let kernel =
            self.weights
                .kernel_initializer
                .init(&[kh, kw, input_shape[2], self.filters])?;
        // The output shape comes from the op's own shape rule, run on an empty batch.
        let probe = Tensor::zeros(
            &[0, input_shape[0], input_shape[1], input_shape[2]],
            rill_core::DType::F32,
        );
        let out = probe
            .conv2d(&kernel, &self.options)
            .map_err(|e| Error::Config(format!("{}: {e}", self.name)))?;
        self.weights.create(kernel, self.filters)?;
        Ok(out.shape()[1..].to_vec())
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let y = x.conv2d(self.weights.kernel(&self.name)?, &self.options)?;
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
        let o = &self.options;
        Some(
            serde_json::json!({"name": self.name, "filters": self.filters, "kernel_size": [self.kernel_size.0, self.kernel_size.1], "strides": [o.strides.0, o.strides.1], "padding": super::config::padding_name(o.padding), "dilation_rate": [o.dilation.0, o.dilation.1], "activation": self.activation.name(), "use_bias": self.weights.use_bias, "kernel_regularizer": self.weights.kernel_regularizer.map(|r| r.config())}),
        )
    }
}
