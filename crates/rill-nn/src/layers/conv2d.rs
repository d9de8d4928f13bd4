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
    use_bias: bool,
    kernel_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    kernel: Option<Variable>,
    bias: Option<Variable>,
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
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            kernel_regularizer: None,
            kernel: None,
            bias: None,
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
        self.use_bias = on;
        self
    }
    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.kernel_initializer = i;
        self
    }
    /// Adds a kernel penalty to the loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
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
        let kernel = self
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
        self.kernel = Some(Variable::trainable("kernel", kernel)?);
        if self.use_bias {
            self.bias = Some(Variable::trainable(
                "bias",
                Initializer::Zeros.init(&[self.filters])?,
            )?);
        }
        Ok(out.shape()[1..].to_vec())
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| Error::Config(format!("{}: call before build", self.name)))?;
        let mut y = x.conv2d(&kernel.value, &self.options)?;
        if let Some(b) = &self.bias {
            y = y.add(&b.value)?;
        }
        self.activation.apply(&y)
    }
    fn variables(&self) -> Vec<&Variable> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        match (&self.kernel_regularizer, &self.kernel) {
            (Some(r), Some(k)) => Ok(Some(r.penalty(&k.value)?)),
            _ => Ok(None),
        }
    }
    fn config(&self) -> Option<serde_json::Value> {
        let o = &self.options;
        Some(
            serde_json::json!({"name": self.name, "filters": self.filters, "kernel_size": [self.kernel_size.0, self.kernel_size.1], "strides": [o.strides.0, o.strides.1], "padding": super::config::padding_name(o.padding), "dilation_rate": [o.dilation.0, o.dilation.1], "activation": self.activation.name(), "use_bias": self.use_bias, "kernel_regularizer": self.kernel_regularizer.map(|r| r.config())}),
        )
    }
}
