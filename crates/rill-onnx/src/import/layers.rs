//! The layers an imported graph is made of where Rill's Keras layers do not say the same thing:
//! ONNX's channels-first convolution and pooling with explicit pads and groups, batch
//! normalisation over axis 1, transposes, pads, means and arithmetic with constants. Each
//! follows its ONNX operator exactly, stores its attributes as a typed config (so an imported
//! model saves as `.rill` and loads again once [`register_layers`](super::register_layers) has
//! run) and trains: gradients flow through every one of them.
//!
//! Attributes keep ONNX's meaning: axes count the batch axis, pads are (begins…, ends…).

use rill_core::{no_grad, Conv2dOptions, Padding, Tensor};
use rill_nn::layers::{Configurable, Layer, Merge};
use rill_nn::{Error, Result, Variable};
use serde::{Deserialize, Serialize};

fn config_error(kind: &str, what: impl std::fmt::Display) -> Error {
    Error::Config(format!("{kind}: {what}"))
}

fn not_built(kind: &str) -> Error {
    Error::not_built(kind)
}

/// The most values one sample may hold in any layer's output (or in a convolution's patch
/// matrix): 64 Mi, 256 MB of f32 — far above real models, far below what a crafted file's
/// pads, windows or reshapes could otherwise make each call allocate.
pub const MAX_SAMPLE_VALUES: usize = 1 << 26;

/// Refuses a per-sample shape (or work size) above [`MAX_SAMPLE_VALUES`].
pub(crate) fn bounded(kind: &str, what: &str, dims: &[usize]) -> Result<()> {
    let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match n {
        Some(n) if n <= MAX_SAMPLE_VALUES => Ok(()),
        _ => Err(config_error(
            kind,
            format!("{what} of {dims:?} per sample is more than {MAX_SAMPLE_VALUES} values"),
        )),
    }
}

/// The batch shape with the batch axis at the front, for messages.
fn full(per_sample: &[usize]) -> String {
    rill_nn::batch_shape(per_sample)
}

/// Output size of a window over `input` padded by `pad` (begin + end).
fn window_out(
    kind: &str,
    input: usize,
    pad: usize,
    k: usize,
    stride: usize,
    dilation: usize,
) -> Result<usize> {
    let span = (k.max(1) - 1).saturating_mul(dilation).saturating_add(1);
    let padded = input.saturating_add(pad);
    if k == 0 || stride == 0 || dilation == 0 || padded < span {
        return Err(config_error(
            kind,
            format!("a window of {k} (dilation {dilation}, stride {stride}) does not fit an input of {input} padded by {pad}"),
        ));
    }
    Ok((padded - span) / stride + 1)
}

fn nhwc(x: &Tensor) -> Result<Tensor> {
    Ok(x.permute(&[0, 2, 3, 1])?)
}

fn nchw(x: &Tensor) -> Result<Tensor> {
    Ok(x.permute(&[0, 3, 1, 2])?)
}

/// Pads the spatial axes of an NHWC batch by ONNX pads `[top, left, bottom, right]`.
fn pad_hw(x: &Tensor, pads: &[usize; 4], value: f64) -> Result<Tensor> {
    if pads.iter().all(|&p| p == 0) {
        return Ok(x.clone());
    }
    Ok(x.pad(
        &[(0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)],
        value,
    )?)
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxConv`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConvConfig {
    /// Output channels.
    pub filters: usize,
    /// Window height and width.
    pub kernel_shape: [usize; 2],
    /// Steps.
    pub strides: [usize; 2],
    /// Zero padding, `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Gaps between window taps.
    pub dilations: [usize; 2],
    /// Channel groups (the input channels for a depthwise convolution).
    pub group: usize,
    /// Whether a bias is added.
    pub use_bias: bool,
}

/// ONNX `Conv` in two dimensions over NCHW batches, with an OIHW kernel.
#[derive(Debug)]
pub struct OnnxConv {
    config: ConvConfig,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Configurable for OnnxConv {
    const KIND: &'static str = "OnnxConv";
    type Config = ConvConfig;
    fn get_config(&self) -> ConvConfig {
        self.config.clone()
    }
    fn from_config(config: ConvConfig) -> Result<Self> {
        let c = &config;
        if c.group == 0 || c.filters == 0 || !c.filters.is_multiple_of(c.group) {
            return Err(config_error(
                Self::KIND,
                format!(
                    "{} filters cannot be split into {} groups",
                    c.filters, c.group
                ),
            ));
        }
        rill_nn::layers::check_sizes(Self::KIND, "filters", &[c.filters])?;
        rill_nn::layers::check_sizes(Self::KIND, "kernel_shape", &c.kernel_shape)?;
        Ok(OnnxConv {
            config,
            kernel: None,
            bias: None,
        })
    }
}

impl Layer for OnnxConv {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        if s.len() != 3 || !s[0].is_multiple_of(c.group) {
            return Err(config_error(
                Self::KIND,
                format!("expects (channels, height, width) inputs with channels divisible by {}, found {}", c.group, full(s)),
            ));
        }
        let oh = window_out(
            Self::KIND,
            s[1],
            c.pads[0] + c.pads[2],
            c.kernel_shape[0],
            c.strides[0],
            c.dilations[0],
        )?;
        let ow = window_out(
            Self::KIND,
            s[2],
            c.pads[1] + c.pads[3],
            c.kernel_shape[1],
            c.strides[1],
            c.dilations[1],
        )?;
        let padded = [
            s[0],
            s[1] + c.pads[0] + c.pads[2],
            s[2] + c.pads[1] + c.pads[3],
        ];
        bounded(Self::KIND, "a padded input", &padded)?;
        let [kh, kw] = c.kernel_shape;
        bounded(
            Self::KIND,
            "a patch matrix",
            &[oh, ow, kh, kw, s[0] / c.group],
        )?;
        bounded(Self::KIND, "an output", &[c.filters, oh, ow])?;
        Ok(vec![c.filters, oh, ow])
    }
    fn build(&mut self, s: &[usize]) -> Result<()> {
        self.compute_output_shape(s)?;
        let c = &self.config;
        let [kh, kw] = c.kernel_shape;
        self.kernel = Some(Variable::trainable(
            "kernel",
            Tensor::zeros(&[c.filters, s[0] / c.group, kh, kw], rill_core::DType::F32),
        )?);
        self.bias = if c.use_bias {
            Some(Variable::trainable(
                "bias",
                Tensor::zeros(&[c.filters], rill_core::DType::F32),
            )?)
        } else {
            None
        };
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = &self.config;
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| not_built(Self::KIND))?
            .value();
        let x = pad_hw(&nhwc(x)?, &c.pads, 0.0)?;
        let options = Conv2dOptions {
            strides: (c.strides[0], c.strides[1]),
            padding: Padding::Valid,
            dilation: (c.dilations[0], c.dilations[1]),
        };
        // OIHW → HWIO, Rill's kernel layout.
        let hwio = kernel.permute(&[2, 3, 1, 0])?;
        let y = if c.group == 1 {
            x.conv2d(&hwio, &options)?
        } else {
            let (cin, cout) = (x.shape()[3] / c.group, c.filters / c.group);
            let parts = (0..c.group)
                .map(|g| {
                    let xg = x.slice(3, g * cin, (g + 1) * cin)?;
                    let kg = hwio.slice(3, g * cout, (g + 1) * cout)?;
                    xg.conv2d(&kg, &options)
                })
                .collect::<rill_core::Result<Vec<_>>>()?;
            Tensor::concat(&parts, 3)?
        };
        let y = match &self.bias {
            Some(b) => y.add(&b.value())?,
            None => y,
        };
        nchw(&y)
    }
    fn variables(&self) -> Vec<Variable> {
        self.kernel
            .iter()
            .chain(self.bias.iter())
            .cloned()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxPool`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolConfig {
    /// `max` or `average`.
    pub mode: String,
    /// Window height and width.
    pub kernel_shape: [usize; 2],
    /// Steps.
    pub strides: [usize; 2],
    /// Padding, `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Average pooling: whether padded positions count in each average.
    pub count_include_pad: bool,
}

/// ONNX `MaxPool` and `AveragePool` in two dimensions over NCHW batches.
#[derive(Debug)]
pub struct OnnxPool(PoolConfig);

impl OnnxPool {
    /// Average pooling that leaves pads out, with pads other than TensorFlow's `same` split,
    /// has no Rill kernel.
    fn excluded_pads_are_same(&self, s: &[usize]) -> bool {
        let c = &self.0;
        (0..2).all(|a| {
            let input = s[a + 1];
            let out = input.div_ceil(c.strides[a]);
            let total = ((out.max(1) - 1) * c.strides[a] + c.kernel_shape[a]).saturating_sub(input);
            c.pads[a] == total / 2 && c.pads[a + 2] == total - total / 2
        })
    }
}

impl Configurable for OnnxPool {
    const KIND: &'static str = "OnnxPool";
    type Config = PoolConfig;
    fn get_config(&self) -> PoolConfig {
        self.0.clone()
    }
    fn from_config(c: PoolConfig) -> Result<Self> {
        if c.mode != "max" && c.mode != "average" {
            return Err(config_error(
                Self::KIND,
                format!("mode must be 'max' or 'average', found '{}'", c.mode),
            ));
        }
        rill_nn::layers::check_sizes(Self::KIND, "kernel_shape", &c.kernel_shape)?;
        rill_nn::layers::check_sizes(Self::KIND, "strides", &c.strides)?;
        Ok(OnnxPool(c))
    }
}

impl Layer for OnnxPool {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        let c = &self.0;
        if s.len() != 3 {
            return Err(config_error(
                Self::KIND,
                format!(
                    "expects (channels, height, width) inputs, found {}",
                    full(s)
                ),
            ));
        }
        let padded = c.pads.iter().any(|&p| p > 0);
        if c.mode == "average" && padded && !c.count_include_pad && !self.excluded_pads_are_same(s)
        {
            return Err(config_error(
                Self::KIND,
                format!("average pooling that leaves out pads {:?} is supported only for TensorFlow's 'same' padding", c.pads),
            ));
        }
        let oh = window_out(
            Self::KIND,
            s[1],
            c.pads[0] + c.pads[2],
            c.kernel_shape[0],
            c.strides[0],
            1,
        )?;
        let ow = window_out(
            Self::KIND,
            s[2],
            c.pads[1] + c.pads[3],
            c.kernel_shape[1],
            c.strides[1],
            1,
        )?;
        let padded = [
            s[0],
            s[1] + c.pads[0] + c.pads[2],
            s[2] + c.pads[1] + c.pads[3],
        ];
        bounded(Self::KIND, "a padded input", &padded)?;
        bounded(
            Self::KIND,
            "a window matrix",
            &[s[0], oh, ow, c.kernel_shape[0], c.kernel_shape[1]],
        )?;
        Ok(vec![s[0], oh, ow])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = &self.0;
        let pool = (c.kernel_shape[0], c.kernel_shape[1]);
        let strides = (c.strides[0], c.strides[1]);
        let x = nhwc(x)?;
        let y = if c.mode == "max" {
            // Pads never win a max: pad with −∞.
            pad_hw(&x, &c.pads, f64::NEG_INFINITY)?.max_pool2d(pool, strides, Padding::Valid)?
        } else if c.count_include_pad || c.pads.iter().all(|&p| p == 0) {
            pad_hw(&x, &c.pads, 0.0)?.avg_pool2d(pool, strides, Padding::Valid)?
        } else {
            x.avg_pool2d(pool, strides, Padding::Same)?
        };
        nchw(&y)
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxBatchNorm`]'s attributes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BatchNormConfig {
    /// Added to the variance.
    pub epsilon: f64,
    /// How much of the running statistics each training batch keeps.
    pub momentum: f64,
}

/// ONNX `BatchNormalization`: normalises over axis 1 (channels-first). Inference uses the
/// running statistics; training (in `fit`) uses the batch's and updates the running ones.
#[derive(Debug)]
pub struct OnnxBatchNorm {
    config: BatchNormConfig,
    weights: Vec<Variable>,
}

impl Configurable for OnnxBatchNorm {
    const KIND: &'static str = "OnnxBatchNorm";
    type Config = BatchNormConfig;
    fn get_config(&self) -> BatchNormConfig {
        self.config
    }
    fn from_config(config: BatchNormConfig) -> Result<Self> {
        Ok(OnnxBatchNorm {
            config,
            weights: Vec::new(),
        })
    }
}

impl Layer for OnnxBatchNorm {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if s.is_empty() {
            return Err(config_error(Self::KIND, "needs inputs with a channel axis"));
        }
        Ok(s.to_vec())
    }
    fn build(&mut self, s: &[usize]) -> Result<()> {
        let c = s[0];
        let t = |v: f32| Tensor::full(&[c], v as f64, rill_core::DType::F32);
        self.weights = vec![
            Variable::trainable("scale", t(1.0))?,
            Variable::trainable("bias", t(0.0))?,
            Variable::fixed("mean", t(0.0)),
            Variable::fixed("variance", t(1.0)),
        ];
        Ok(())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let [scale, bias, mean, var] = &self.weights[..] else {
            return Err(not_built(Self::KIND));
        };
        // Per-channel values broadcast as (C, 1, 1, …) against (N, C, …).
        let mut param_shape = vec![x.shape()[1]];
        param_shape.extend(std::iter::repeat_n(1, x.rank() - 2));
        let p = |t: Tensor| t.reshape(&param_shape);
        let (m, v) = if training && scale.is_trainable() {
            let axes: Vec<isize> = (0..x.rank() as isize).filter(|&a| a != 1).collect();
            let bm = x.mean(&axes, false)?;
            let bv = x.variance(&axes, false)?;
            let k = self.config.momentum;
            no_grad(|| -> Result<()> {
                for (running, batch) in [(mean, &bm), (var, &bv)] {
                    let new = running
                        .value()
                        .mul_scalar(k)?
                        .add(&batch.detach().mul_scalar(1.0 - k)?)?;
                    running.assign(&new)?;
                }
                Ok(())
            })?;
            (bm, bv)
        } else {
            (mean.value(), var.value())
        };
        let inv = p(v.add_scalar(self.config.epsilon)?.sqrt()?)?;
        let normed = x.sub(&p(m)?)?.div(&inv)?;
        Ok(normed.mul(&p(scale.value())?)?.add(&p(bias.value())?)?)
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.clone()
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxTranspose`]'s attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransposeConfig {
    /// The permutation, batch axis included (it stays first).
    pub perm: Vec<usize>,
}

/// ONNX `Transpose` (the batch axis stays where it is).
#[derive(Debug)]
pub struct OnnxTranspose(TransposeConfig);

impl Configurable for OnnxTranspose {
    const KIND: &'static str = "OnnxTranspose";
    type Config = TransposeConfig;
    fn get_config(&self) -> TransposeConfig {
        self.0.clone()
    }
    fn from_config(c: TransposeConfig) -> Result<Self> {
        let mut sorted = c.perm.clone();
        sorted.sort_unstable();
        if c.perm.first() != Some(&0) || sorted != (0..c.perm.len()).collect::<Vec<_>>() {
            return Err(config_error(
                Self::KIND,
                format!(
                    "perm {:?} must be a permutation that keeps the batch axis first",
                    c.perm
                ),
            ));
        }
        Ok(OnnxTranspose(c))
    }
}

impl Layer for OnnxTranspose {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if s.len() + 1 != self.0.perm.len() {
            return Err(config_error(
                Self::KIND,
                format!("perm {:?} does not fit inputs {}", self.0.perm, full(s)),
            ));
        }
        Ok(self.0.perm[1..].iter().map(|&a| s[a - 1]).collect())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.permute(&self.0.perm)?)
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxPad`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PadConfig {
    /// (before, after) for each axis after the batch axis.
    pub pads: Vec<(usize, usize)>,
    /// The value written into the border.
    pub value: f64,
}

/// ONNX `Pad` in `constant` mode.
#[derive(Debug)]
pub struct OnnxPad(PadConfig);

impl Configurable for OnnxPad {
    const KIND: &'static str = "OnnxPad";
    type Config = PadConfig;
    fn get_config(&self) -> PadConfig {
        self.0.clone()
    }
    fn from_config(c: PadConfig) -> Result<Self> {
        let flat: Vec<usize> = c.pads.iter().flat_map(|&(a, b)| [a, b]).collect();
        if flat.iter().any(|&p| p > rill_nn::layers::MAX_DIM) {
            return Err(config_error(
                Self::KIND,
                format!("pads {flat:?} are too large"),
            ));
        }
        Ok(OnnxPad(c))
    }
}

impl Layer for OnnxPad {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if s.len() != self.0.pads.len() {
            return Err(config_error(
                Self::KIND,
                format!("{} pads for inputs {}", self.0.pads.len(), full(s)),
            ));
        }
        let out: Vec<usize> = s
            .iter()
            .zip(&self.0.pads)
            .map(|(&d, &(a, b))| d.saturating_add(a).saturating_add(b))
            .collect();
        bounded(Self::KIND, "an output", &out)?;
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let mut pads = vec![(0, 0)];
        pads.extend(&self.0.pads);
        Ok(x.pad(&pads, self.0.value)?)
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxReduceMean`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReduceMeanConfig {
    /// Axes averaged over (batch axis = 0, never among them).
    pub axes: Vec<usize>,
    /// Whether reduced axes stay as size 1.
    pub keepdims: bool,
}

/// ONNX `ReduceMean` (and `GlobalAveragePool`, which is its mean over the spatial axes).
#[derive(Debug)]
pub struct OnnxReduceMean(ReduceMeanConfig);

impl Configurable for OnnxReduceMean {
    const KIND: &'static str = "OnnxReduceMean";
    type Config = ReduceMeanConfig;
    fn get_config(&self) -> ReduceMeanConfig {
        self.0.clone()
    }
    fn from_config(c: ReduceMeanConfig) -> Result<Self> {
        if c.axes.is_empty() || c.axes.contains(&0) {
            return Err(config_error(
                Self::KIND,
                format!(
                    "axes {:?} must be given and leave the batch axis alone",
                    c.axes
                ),
            ));
        }
        Ok(OnnxReduceMean(c))
    }
}

impl Layer for OnnxReduceMean {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if self.0.axes.iter().any(|&a| a > s.len()) {
            return Err(config_error(
                Self::KIND,
                format!("axes {:?} do not fit inputs {}", self.0.axes, full(s)),
            ));
        }
        Ok(s.iter()
            .enumerate()
            .filter_map(
                |(i, &d)| match (self.0.axes.contains(&(i + 1)), self.0.keepdims) {
                    (false, _) => Some(d),
                    (true, true) => Some(1),
                    (true, false) => None,
                },
            )
            .collect())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let axes: Vec<isize> = self.0.axes.iter().map(|&a| a as isize).collect();
        Ok(x.mean(&axes, self.0.keepdims)?)
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxUnary`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnaryConfig {
    /// `erf`, `neg`, `sqrt`, `exp`, `log`, `abs`, `reciprocal`, `leaky_relu` or `clip`.
    pub op: String,
    /// LeakyRelu's slope.
    #[serde(default)]
    pub alpha: f64,
    /// Clip's bounds.
    #[serde(default)]
    pub min: f64,
    /// Clip's bounds.
    #[serde(default)]
    pub max: f64,
}

/// The elementwise ONNX operators that are not Keras activations.
#[derive(Debug)]
pub struct OnnxUnary(UnaryConfig);

/// The `op` names [`OnnxUnary`] takes.
pub const UNARY_OPS: [&str; 9] = [
    "erf",
    "neg",
    "sqrt",
    "exp",
    "log",
    "abs",
    "reciprocal",
    "leaky_relu",
    "clip",
];

impl OnnxUnary {
    /// An elementwise op with no parameters.
    pub fn new(op: &str) -> Self {
        OnnxUnary(UnaryConfig {
            op: op.into(),
            alpha: 0.0,
            min: 0.0,
            max: 0.0,
        })
    }
    /// LeakyRelu with slope `alpha`.
    pub fn leaky_relu(alpha: f64) -> Self {
        OnnxUnary(UnaryConfig {
            op: "leaky_relu".into(),
            alpha,
            min: 0.0,
            max: 0.0,
        })
    }
    /// Clip to `[min, max]`.
    pub fn clip(min: f64, max: f64) -> Self {
        OnnxUnary(UnaryConfig {
            op: "clip".into(),
            alpha: 0.0,
            min,
            max,
        })
    }
}

impl Configurable for OnnxUnary {
    const KIND: &'static str = "OnnxUnary";
    type Config = UnaryConfig;
    fn get_config(&self) -> UnaryConfig {
        self.0.clone()
    }
    fn from_config(c: UnaryConfig) -> Result<Self> {
        if !UNARY_OPS.contains(&c.op.as_str()) {
            return Err(config_error(Self::KIND, format!("unknown op '{}'", c.op)));
        }
        Ok(OnnxUnary(c))
    }
}

impl Layer for OnnxUnary {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = &self.0;
        Ok(match c.op.as_str() {
            "erf" => x.erf()?,
            "neg" => x.neg()?,
            "sqrt" => x.sqrt()?,
            "exp" => x.exp()?,
            "log" => x.log()?,
            "abs" => x.abs()?,
            "reciprocal" => x.pow_scalar(-1.0)?,
            "leaky_relu" => x.leaky_relu(c.alpha)?,
            "clip" => x.clip(c.min, c.max)?,
            other => return Err(config_error(Self::KIND, format!("unknown op '{other}'"))),
        })
    }
}

// ---------------------------------------------------------------------------------------------

/// [`OnnxSoftmax`]'s attributes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SoftmaxConfig {
    /// The axis (batch axis = 0).
    pub axis: usize,
    /// LogSoftmax rather than Softmax.
    pub log: bool,
}

/// ONNX `Softmax` and `LogSoftmax` along any axis but the batch's.
#[derive(Debug)]
pub struct OnnxSoftmax(SoftmaxConfig);

impl Configurable for OnnxSoftmax {
    const KIND: &'static str = "OnnxSoftmax";
    type Config = SoftmaxConfig;
    fn get_config(&self) -> SoftmaxConfig {
        self.0
    }
    fn from_config(c: SoftmaxConfig) -> Result<Self> {
        if c.axis == 0 {
            return Err(config_error(
                Self::KIND,
                "a softmax over the batch axis mixes samples",
            ));
        }
        Ok(OnnxSoftmax(c))
    }
}

impl Layer for OnnxSoftmax {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if self.0.axis > s.len() {
            return Err(config_error(
                Self::KIND,
                format!("axis {} does not fit inputs {}", self.0.axis, full(s)),
            ));
        }
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let a = self.0.axis as isize;
        Ok(if self.0.log {
            x.log_softmax(a)?
        } else {
            x.softmax(a)?
        })
    }
}

// ---------------------------------------------------------------------------------------------

/// The arithmetic operators of ONNX, each with numpy broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arithmetic {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// aᵇ
    Pow,
}

impl Arithmetic {
    fn apply(self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Arithmetic::Add => a.add(b)?,
            Arithmetic::Sub => a.sub(b)?,
            Arithmetic::Mul => a.mul(b)?,
            Arithmetic::Div => a.div(b)?,
            Arithmetic::Pow => a.pow(b)?,
        })
    }
}

/// Numpy's broadcast of two full shapes, or `None` when they do not broadcast.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        if i + s.len() < r {
            1
        } else {
            s[i + s.len() - r]
        }
    };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The per-sample shape of `x op c` for per-sample `s` and a constant of shape `c`, or an error
/// when the constant would change the batch axis.
fn with_constant(kind: &str, s: &[usize], c: &[usize]) -> Result<Vec<usize>> {
    let mut x = vec![2usize];
    x.extend(s);
    match broadcast(&x, c) {
        Some(out) if out.len() == x.len() && out[0] == 2 => Ok(out[1..].to_vec()),
        _ => Err(config_error(
            kind,
            format!(
                "a constant of shape {c:?} does not broadcast against inputs {}",
                full(s)
            ),
        )),
    }
}

/// [`OnnxConstantOp`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConstantOpConfig {
    /// The operator.
    pub op: Arithmetic,
    /// The constant's shape.
    pub shape: Vec<usize>,
    /// `constant op x` rather than `x op constant`.
    pub constant_first: bool,
    /// Whether `fit` trains the constant (true for weights, false for literal constants).
    pub trainable: bool,
}

/// Arithmetic between the input and a constant held as a variable (a bias added after a
/// MatMul, a normalisation's mean and scale, GELU's ½).
#[derive(Debug)]
pub struct OnnxConstantOp {
    config: ConstantOpConfig,
    constant: Option<Variable>,
}

impl Configurable for OnnxConstantOp {
    const KIND: &'static str = "OnnxConstantOp";
    type Config = ConstantOpConfig;
    fn get_config(&self) -> ConstantOpConfig {
        self.config.clone()
    }
    fn from_config(config: ConstantOpConfig) -> Result<Self> {
        if !config.shape.is_empty() {
            rill_nn::layers::check_sizes(Self::KIND, "shape", &config.shape)?;
        }
        Ok(OnnxConstantOp {
            config,
            constant: None,
        })
    }
}

impl Layer for OnnxConstantOp {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        with_constant(Self::KIND, s, &self.config.shape)
    }
    fn build(&mut self, s: &[usize]) -> Result<()> {
        self.compute_output_shape(s)?;
        let zeros = Tensor::zeros(&self.config.shape, rill_core::DType::F32);
        self.constant = Some(if self.config.trainable {
            Variable::trainable("constant", zeros)?
        } else {
            Variable::fixed("constant", zeros)
        });
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = self
            .constant
            .as_ref()
            .ok_or_else(|| not_built(Self::KIND))?
            .value();
        if self.config.constant_first {
            self.config.op.apply(&c, x)
        } else {
            self.config.op.apply(x, &c)
        }
    }
    fn variables(&self) -> Vec<Variable> {
        self.constant.iter().cloned().collect()
    }
}

// ---------------------------------------------------------------------------------------------

/// ONNX's binary arithmetic between two computed values, with broadcasting.
#[derive(Debug, Clone, Copy)]
pub struct OnnxBinary(pub Arithmetic);

impl OnnxBinary {
    const KIND: &'static str = "OnnxBinary";
    /// Rebuilds one from its stored config.
    pub fn from_config(config: &serde_json::Value) -> Result<Box<dyn Merge>> {
        let op: Arithmetic = serde_json::from_value(config["op"].clone())
            .map_err(|e| config_error(Self::KIND, e))?;
        Ok(Box::new(OnnxBinary(op)))
    }
}

impl Merge for OnnxBinary {
    fn kind(&self) -> &'static str {
        Self::KIND
    }
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        match shapes {
            // Both carry the batch axis first; ONNX aligns axes from the right, so the ranks
            // must agree for batch to meet batch.
            [a, b] if a.len() == b.len() => broadcast(a, b).ok_or_else(|| {
                config_error(Self::KIND, format!("inputs {} and {} do not broadcast", full(a), full(b)))
            }),
            [a, b] => Err(config_error(
                Self::KIND,
                format!("inputs {} and {} differ in rank, which would align the batch axis with another", full(a), full(b)),
            )),
            _ => Err(config_error(Self::KIND, "takes two inputs")),
        }
    }
    fn call(&self, inputs: &[Tensor]) -> Result<Tensor> {
        self.0.apply(&inputs[0], &inputs[1])
    }
    fn config(&self) -> serde_json::Value {
        serde_json::json!({ "op": self.0 })
    }
}

/// ONNX `Concat` along any axis but the batch's.
#[derive(Debug, Clone, Copy)]
pub struct OnnxConcat {
    /// The axis (batch axis = 0).
    pub axis: usize,
}

impl OnnxConcat {
    const KIND: &'static str = "OnnxConcat";
    /// Rebuilds one from its stored config.
    pub fn from_config(config: &serde_json::Value) -> Result<Box<dyn Merge>> {
        match config["axis"].as_u64() {
            Some(a) if a > 0 => Ok(Box::new(OnnxConcat { axis: a as usize })),
            _ => Err(config_error(
                Self::KIND,
                "needs an axis after the batch axis",
            )),
        }
    }
}

impl Merge for OnnxConcat {
    fn kind(&self) -> &'static str {
        Self::KIND
    }
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let a = self.axis - 1;
        let first = shapes
            .first()
            .ok_or_else(|| config_error(Self::KIND, "takes at least one input"))?;
        let agree = shapes.iter().all(|s| {
            s.len() == first.len()
                && a < s.len()
                && s.iter()
                    .zip(first)
                    .enumerate()
                    .all(|(i, (x, y))| i == a || x == y)
        });
        if !agree {
            return Err(config_error(
                Self::KIND,
                format!(
                    "inputs {} differ off axis {}",
                    shapes
                        .iter()
                        .map(|s| full(s))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.axis
                ),
            ));
        }
        let mut out = first.clone();
        out[a] = shapes.iter().map(|s| s[a]).sum();
        Ok(out)
    }
    fn call(&self, inputs: &[Tensor]) -> Result<Tensor> {
        Ok(Tensor::concat(inputs, self.axis as isize)?)
    }
    fn config(&self) -> serde_json::Value {
        serde_json::json!({ "axis": self.axis })
    }
}
