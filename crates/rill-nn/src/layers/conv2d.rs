use super::kernel_bias::{KernelBias, KernelBiasConfig};
use super::serde_helpers::{check_sample_values, check_sizes, padding};
use super::{Configurable, Layer, PoolWindow, Regularizer};
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::{Conv2dOptions, Padding, Tensor};
use serde::{Deserialize, Serialize};

/// [`Conv2D`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conv2DConfig {
    /// Output channels.
    pub filters: usize,
    /// Window height and width.
    pub kernel_size: (usize, usize),
    /// Vertical and horizontal step.
    #[serde(default = "ones")]
    pub strides: (usize, usize),
    /// Border handling.
    #[serde(default, with = "padding")]
    pub padding: Padding,
    /// Gap between window taps.
    #[serde(default = "ones")]
    pub dilation_rate: (usize, usize),
    /// Activation, bias and initializers.
    #[serde(flatten)]
    pub kernel_bias: KernelBiasConfig,
}

fn ones() -> (usize, usize) {
    (1, 1)
}
/// 2-D convolution over NHWC inputs (Keras' `channels_last`) with an HWIO kernel.
#[derive(Debug)]
pub struct Conv2D {
    config: Conv2DConfig,
    weights: KernelBias,
}

impl Conv2D {
    /// `filters` output channels, a `kernel_size` window, stride 1, valid padding.
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv2D {
            config: Conv2DConfig {
                filters,
                kernel_size,
                strides: (1, 1),
                padding: Padding::Valid,
                dilation_rate: (1, 1),
                kernel_bias: KernelBiasConfig::default(),
            },
            weights: KernelBias::default(),
        }
    }
    /// Sets the strides.
    pub fn strides(mut self, s: (usize, usize)) -> Self {
        self.config.strides = s;
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.config.padding = p;
        self
    }
    /// Sets the dilation rate.
    pub fn dilation(mut self, d: (usize, usize)) -> Self {
        self.config.dilation_rate = d;
        self
    }
    /// Sets the activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.kernel_bias.activation = a;
        self
    }
    /// Turns the bias on or off.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.config.kernel_bias.use_bias = on;
        self
    }
    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.config.kernel_bias.kernel_initializer = i;
        self
    }
    /// Adds a kernel penalty to the loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.config.kernel_bias.kernel_regularizer = Some(r);
        self
    }
    fn options(&self) -> Conv2dOptions {
        Conv2dOptions {
            strides: self.config.strides,
            padding: self.config.padding,
            dilation: self.config.dilation_rate,
        }
    }
}

impl Conv2D {
    /// Whether [`Conv2D::call_then_max_pool`] computes this layer then a max pooling exactly:
    /// for a ReLU or no activation.
    pub(crate) fn pools_first(&self) -> bool {
        matches!(
            self.config.kernel_bias.activation,
            Activation::Relu | Activation::Linear
        )
    }

    /// Pools the convolution's raw output, then adds the bias and applies the ReLU to the pooled
    /// values: for an increasing activation and a bias constant over each window,
    /// `max(relu(y + b)) = relu(max(y) + b)` exactly (rounding is monotonic too), and the
    /// bias, the ReLU and their gradients then touch a quarter of the values of a 2×2 pool.
    /// (A NaN in `y` is the one difference: the ReLU no longer turns it into 0 before the
    /// window's maximum is taken.) Only where [`Conv2D::pools_first`]; used by the model's
    /// graph rewrite (`model/fusion.rs`).
    pub(crate) fn call_then_max_pool(&self, x: &Tensor, window: &PoolWindow) -> Result<Tensor> {
        let y = x.conv2d_max_pool2d(
            &self.weights.kernel(Self::KIND)?,
            &self.options(),
            window.size,
            window.strides,
            window.padding,
        )?;
        self.weights
            .bias_and_activation(y, &self.config.kernel_bias.activation)
    }
}

impl Configurable for Conv2D {
    const KIND: &'static str = "Conv2D";
    type Config = Conv2DConfig;
    fn get_config(&self) -> Conv2DConfig {
        self.config.clone()
    }
    fn from_config(config: Conv2DConfig) -> Result<Self> {
        let c = &config;
        check_sizes(Self::KIND, "filters", &[c.filters])?;
        check_sizes(
            Self::KIND,
            "kernel_size",
            &[c.kernel_size.0, c.kernel_size.1],
        )?;
        check_sizes(Self::KIND, "strides", &[c.strides.0, c.strides.1])?;
        check_sizes(
            Self::KIND,
            "dilation_rate",
            &[c.dilation_rate.0, c.dilation_rate.1],
        )?;
        Ok(Conv2D {
            config,
            weights: KernelBias::default(),
        })
    }
    fn examples() -> Vec<super::LayerExample<Conv2DConfig>> {
        use super::LayerExample as E;
        use rill_core::Padding;
        vec![
            E::new(
                Conv2D::new(4, (3, 3))
                    .activation(Activation::Relu)
                    .get_config(),
                &[7, 6, 2],
            ),
            E::new(
                Conv2D::new(3, (3, 2))
                    .strides((2, 1))
                    .padding(Padding::Same)
                    .use_bias(false)
                    .get_config(),
                &[7, 5, 3],
            ),
            E::new(
                Conv2D::new(2, (3, 3)).dilation((2, 1)).get_config(),
                &[8, 6, 1],
            ),
        ]
    }
}

impl Layer for Conv2D {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::Config(format!(
                "Conv2D expects per-sample inputs (height, width, channels), found {input_shape:?}"
            )));
        }
        let (oh, ow) = rill_core::window_output_size(
            "conv2d",
            input_shape,
            self.config.kernel_size,
            &self.options(),
        )?;
        let (kh, kw) = self.config.kernel_size;
        // The patch matrix one sample is multiplied through.
        check_sample_values(
            Self::KIND,
            "the patch matrix",
            &[oh, ow, kh, kw, input_shape[2]],
        )?;
        Ok(vec![oh, ow, self.config.filters])
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let (c, w) = (&self.config, &self.config.kernel_bias);
        let (kh, kw) = c.kernel_size;
        let kernel = w
            .kernel_initializer
            .init(&[kh, kw, input_shape[2], c.filters])?;
        let bias = w.use_bias.then_some((w.bias_initializer, c.filters));
        self.weights.create(kernel, bias)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let y = x.conv2d(&self.weights.kernel(Self::KIND)?, &self.options())?;
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

/// ONNX: `Conv` in channels-first (the kernel permuted from HWIO to OIHW), Keras' `same`
/// padding as explicit pads, the activation, and back to channels-last.
impl super::OnnxForm for Conv2D {
    fn to_onnx(
        c: &Conv2DConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        use super::{pair, window_pads, OnnxAttr::Ints};
        let pads = window_pads(
            l.input_shape,
            c.kernel_size,
            c.strides,
            c.dilation_rate,
            c.padding,
        );
        let kernel = l.weight(0)?.permute(&[3, 2, 0, 1])?;
        let mut inputs = vec![
            g.channels_first(&l.input),
            g.weight(&l.part("kernel"), &kernel)?,
        ];
        if let Some(b) = l.weights.get(1) {
            inputs.push(g.weight(&l.part("bias"), b)?);
        }
        let attrs = vec![
            Ints("kernel_shape", pair(c.kernel_size)),
            Ints("strides", pair(c.strides)),
            Ints("dilations", pair(c.dilation_rate)),
            Ints("pads", pads),
        ];
        let y = g.node("Conv", inputs, &l.part("nchw"), attrs);
        let activation = c.kernel_bias.activation.name();
        if activation == "softmax" {
            // Softmax runs over channels: do it channels-last, where they are the last axis.
            let y = g.channels_last(y, &l.part("linear"));
            g.activation(l.name, activation, y)
        } else {
            let y = g.activation(&l.part("activated"), activation, y)?;
            Ok(g.channels_last(y, l.name))
        }
    }
}

/// Keras: `keras.layers.Conv2D`, channels-last and ungrouped.
impl super::KerasForm for Conv2D {
    const KERAS_POSITIONAL: &'static [&'static str] = &["filters", "kernel_size"];
    fn to_keras(c: &Conv2DConfig) -> serde_json::Value {
        let pair = |p: (usize, usize)| [p.0, p.1];
        super::with_keras_kernel_bias(
            serde_json::json!({"filters": c.filters, "kernel_size": pair(c.kernel_size), "strides": pair(c.strides), "padding": super::keras_padding(c.padding), "data_format": "channels_last", "dilation_rate": pair(c.dilation_rate), "groups": 1}),
            &c.kernel_bias,
        )
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<Conv2DConfig> {
        a.channels_last()?;
        a.expect(
            "groups",
            &[serde_json::json!(1)],
            "grouped convolutions are not among Rill's Conv2D options",
        )?;
        Ok(Conv2DConfig {
            filters: a.required("filters")?,
            kernel_size: a.pair("kernel_size", None)?,
            strides: a.pair("strides", Some((1, 1)))?,
            padding: a.padding()?,
            dilation_rate: a.pair("dilation_rate", Some((1, 1)))?,
            kernel_bias: a.kernel_bias()?,
        })
    }
}
