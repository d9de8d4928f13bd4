//! `Conv1D`: 1-D convolution over (steps, channels) samples, as Keras' `layers.Conv1D` —
//! with `causal` padding for sequences — computed as a 2-D convolution of height 1.

use super::kernel_bias::{KernelBias, KernelBiasConfig};
use super::serde_helpers::{check_sample_values, check_sizes};
use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Result, Variable};
use rill_core::{Conv2dOptions, Padding, Tensor};
use serde::{Deserialize, Serialize};

/// How a 1-D window treats the ends of a sequence, as Keras names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding1D {
    /// No padding: the output is shorter by the window's span.
    #[default]
    Valid,
    /// Zeros at both ends so that the output has `ceil(steps / strides)` steps.
    Same,
    /// Zeros before the first step only: output step t sees input steps up to t, never later.
    Causal,
}

/// [`Conv1D`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conv1DConfig {
    /// Output channels.
    pub filters: usize,
    /// The window's length.
    pub kernel_size: usize,
    /// The window's step.
    #[serde(default = "one")]
    pub strides: usize,
    /// Border handling.
    #[serde(default)]
    pub padding: Padding1D,
    /// Gap between the window's taps (1 = dense).
    #[serde(default = "one")]
    pub dilation_rate: usize,
    /// Channel groups: group i's filters see only group i's input channels (1 = all).
    #[serde(default = "one")]
    pub groups: usize,
    /// Activation, bias and initializers.
    #[serde(flatten)]
    pub kernel_bias: KernelBiasConfig,
}

fn one() -> usize {
    1
}

/// 1-D convolution over (steps, channels) samples with a (window, in, out) kernel.
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::{Conv1D, Padding1D};
/// let model = Sequential::new(vec![
///     Box::new(Conv1D::new(8, 3).padding(Padding1D::Causal)) as Box<dyn Layer>,
/// ])
/// .with_input_shape(&[20, 4])?;
/// assert_eq!(model.output_shape(), Some(vec![20, 8]));
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Conv1D {
    config: Conv1DConfig,
    weights: KernelBias,
}

impl Conv1D {
    /// `filters` output channels over a window of `kernel_size` steps; stride 1, valid.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv1D {
            config: Conv1DConfig {
                filters,
                kernel_size,
                strides: 1,
                padding: Padding1D::Valid,
                dilation_rate: 1,
                groups: 1,
                kernel_bias: KernelBiasConfig::default(),
            },
            weights: KernelBias::default(),
        }
    }
    /// Sets the stride.
    pub fn strides(mut self, s: usize) -> Self {
        self.config.strides = s;
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding1D) -> Self {
        self.config.padding = p;
        self
    }
    /// Sets the dilation.
    pub fn dilation_rate(mut self, d: usize) -> Self {
        self.config.dilation_rate = d;
        self
    }
    /// Splits the channels into `g` groups, each filtered on its own.
    pub fn groups(mut self, g: usize) -> Self {
        self.config.groups = g;
        self
    }
    /// Sets the activation.
    pub fn activation(mut self, a: crate::Activation) -> Self {
        self.config.kernel_bias.activation = a;
        self
    }

    /// Zeros a causal convolution puts before the first step.
    fn causal_pad(&self) -> usize {
        match self.config.padding {
            Padding1D::Causal => (self.config.kernel_size - 1) * self.config.dilation_rate,
            _ => 0,
        }
    }

    /// The height-1 2-D convolution this one is.
    fn options(&self) -> Conv2dOptions {
        Conv2dOptions {
            strides: (1, self.config.strides),
            padding: match self.config.padding {
                Padding1D::Same => Padding::Same,
                Padding1D::Valid | Padding1D::Causal => Padding::Valid,
            },
            dilation: (1, self.config.dilation_rate),
        }
    }
}

impl Configurable for Conv1D {
    const KIND: &'static str = "Conv1D";
    type Config = Conv1DConfig;
    fn get_config(&self) -> Conv1DConfig {
        self.config.clone()
    }
    fn from_config(config: Conv1DConfig) -> Result<Self> {
        let c = &config;
        check_sizes(Self::KIND, "filters", &[c.filters])?;
        check_sizes(Self::KIND, "kernel_size", &[c.kernel_size])?;
        check_sizes(Self::KIND, "strides", &[c.strides])?;
        check_sizes(Self::KIND, "dilation_rate", &[c.dilation_rate])?;
        check_sizes(Self::KIND, "groups", &[c.groups])?;
        if !c.filters.is_multiple_of(c.groups) {
            return Err(Error::Config(format!(
                "Conv1D: {} filters do not split into {} groups",
                c.filters, c.groups
            )));
        }
        Ok(Conv1D {
            config,
            weights: KernelBias::default(),
        })
    }
    fn examples() -> Vec<super::LayerExample<Conv1DConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(
                Conv1D::new(4, 3)
                    .activation(crate::Activation::Relu)
                    .get_config(),
                &[9, 2],
            ),
            E::new(
                Conv1D::new(3, 2)
                    .strides(2)
                    .padding(Padding1D::Same)
                    .get_config(),
                &[7, 3],
            ),
            E::new(
                Conv1D::new(2, 3)
                    .dilation_rate(2)
                    .padding(Padding1D::Causal)
                    .get_config(),
                &[8, 2],
            ),
            E::new(
                Conv1D::new(6, 2)
                    .groups(3)
                    .padding(Padding1D::Same)
                    .get_config(),
                &[5, 3],
            ),
        ]
    }
}

impl Layer for Conv1D {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[steps, channels] = input_shape else {
            return Err(Error::Config(format!(
                "Conv1D expects per-sample inputs (steps, channels), found {input_shape:?}"
            )));
        };
        if !channels.is_multiple_of(self.config.groups) {
            return Err(Error::Config(format!(
                "Conv1D: {channels} input channels do not split into {} groups",
                self.config.groups
            )));
        }
        let padded = [1, steps + self.causal_pad(), channels];
        let (_, out) = rill_core::window_output_size(
            "conv1d",
            &padded,
            (1, self.config.kernel_size),
            &self.options(),
        )?;
        check_sample_values(
            Self::KIND,
            "the patch matrix",
            &[out, self.config.kernel_size, channels],
        )?;
        Ok(vec![out, self.config.filters])
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let (c, w) = (&self.config, &self.config.kernel_bias);
        let kernel =
            w.kernel_initializer
                .init(&[c.kernel_size, input_shape[1] / c.groups, c.filters])?;
        let bias = w.use_bias.then_some((w.bias_initializer, c.filters));
        self.weights.create(kernel, bias)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let s = x.shape().to_vec();
        let x = match self.causal_pad() {
            0 => x.clone(),
            left => x.pad(&[(0, 0), (left, 0), (0, 0)], 0.0)?,
        };
        let image = x.reshape(&[s[0], 1, x.shape()[1], s[2]])?;
        let kernel = self.weights.kernel(Self::KIND)?;
        let (groups, filters) = (self.config.groups, self.config.filters);
        let (per_in, per_out) = (s[2] / groups, filters / groups);
        let kernel = kernel.reshape(&[1, kernel.shape()[0], per_in, filters])?;
        // Each group: its slice of the channels by its slice of the filters, side by side.
        let y = match groups {
            1 => image.conv2d(&kernel, &self.options())?,
            _ => Tensor::concat(
                &(0..groups)
                    .map(|i| {
                        let xi = image.slice(-1, i * per_in, (i + 1) * per_in)?;
                        let ki = kernel.slice(-1, i * per_out, (i + 1) * per_out)?;
                        xi.conv2d(&ki, &self.options())
                    })
                    .collect::<rill_core::Result<Vec<_>>>()?,
                -1,
            )?,
        };
        let y = y.reshape(&[s[0], y.shape()[2], self.config.filters])?;
        self.weights
            .bias_and_activation(y, &self.config.kernel_bias.activation)
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.variables()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.weights
            .regularization_loss(self.config.kernel_bias.kernel_regularizer)
    }
}

/// ONNX: `Conv` over (batch, channels, steps), the kernel permuted from (window, in, out) to
/// (out, in, window); causal and `same` padding as explicit pads.
impl OnnxForm for Conv1D {
    fn to_onnx(c: &Conv1DConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        use super::OnnxAttr::Ints;
        let (begin, end) = match c.padding {
            Padding1D::Valid => (0, 0),
            Padding1D::Causal => ((c.kernel_size - 1) * c.dilation_rate, 0),
            Padding1D::Same => {
                rill_core::same_padding(l.input_shape[0], c.kernel_size, c.strides, c.dilation_rate)
            }
        };
        let to_channels_first = vec![Ints("perm", vec![0, 2, 1])];
        let x = g.node(
            "Transpose",
            vec![l.input.clone()],
            &l.part("ncl"),
            to_channels_first.clone(),
        );
        let kernel = l.weight(0)?.permute(&[2, 1, 0])?;
        let mut inputs = vec![x, g.weight(&l.part("kernel"), &kernel)?];
        if let Some(b) = l.weights.get(1) {
            inputs.push(g.weight(&l.part("bias"), b)?);
        }
        let attrs = vec![
            Ints("kernel_shape", vec![c.kernel_size as i64]),
            Ints("strides", vec![c.strides as i64]),
            Ints("dilations", vec![c.dilation_rate as i64]),
            Ints("pads", vec![begin as i64, end as i64]),
            super::OnnxAttr::Int("group", c.groups as i64),
        ];
        let y = g.node("Conv", inputs, &l.part("conv"), attrs);
        let activation = c.kernel_bias.activation.name();
        let base = match activation {
            "linear" => l.name.to_string(),
            _ => l.part("linear"),
        };
        let y = g.node("Transpose", vec![y], &base, to_channels_first);
        g.activation(l.name, activation, y)
    }
}

/// Keras: `keras.layers.Conv1D`, channels-last, grouped or not.
impl KerasForm for Conv1D {
    const KERAS_POSITIONAL: &'static [&'static str] = &["filters", "kernel_size"];
    fn to_keras(c: &Conv1DConfig) -> serde_json::Value {
        super::with_keras_kernel_bias(
            serde_json::json!({"filters": c.filters, "kernel_size": [c.kernel_size], "strides": [c.strides], "padding": c.padding, "data_format": "channels_last", "dilation_rate": [c.dilation_rate], "groups": c.groups}),
            &c.kernel_bias,
        )
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<Conv1DConfig> {
        a.channels_last()?;
        Ok(Conv1DConfig {
            groups: a.value("groups", 1)?,
            filters: a.required("filters")?,
            kernel_size: a.size("kernel_size", None)?,
            strides: a.size("strides", Some(1))?,
            padding: a.value("padding", Padding1D::Valid)?,
            dilation_rate: a.size("dilation_rate", Some(1))?,
            kernel_bias: a.kernel_bias()?,
        })
    }
}
