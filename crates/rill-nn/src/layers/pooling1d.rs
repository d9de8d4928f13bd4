//! `MaxPooling1D` and `AveragePooling1D`: the largest value or the mean of each window of
//! steps, per channel, as Keras' layers of those names — 2-D poolings of height 1 (an average
//! leaves padded positions out, as Keras does).

use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Result};
use rill_core::{Padding, Tensor};
use serde::{Deserialize, Serialize};

/// The arguments of [`MaxPooling1D`] and [`AveragePooling1D`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Pooling1DConfig {
    /// The window's length.
    pub pool_size: usize,
    /// The window's step (default: the window's length).
    #[serde(default)]
    pub strides: Option<usize>,
    /// Border handling.
    #[serde(default, with = "super::serde_helpers::padding")]
    pub padding: Padding,
}

macro_rules! pooling1d {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $op:ident, $onnx_op:literal) => {
$(#[$doc])*
#[derive(Debug)]
pub struct $name(Pooling1DConfig);

impl $name {
    /// Windows of `pool_size` steps, each step `pool_size` on; valid padding.
    pub fn new(pool_size: usize) -> Self {
        $name(Pooling1DConfig {
            pool_size,
            strides: None,
            padding: Padding::Valid,
        })
    }
    /// Sets the stride.
    pub fn strides(mut self, s: usize) -> Self {
        self.0.strides = Some(s);
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.0.padding = p;
        self
    }
    fn strides_or_pool(&self) -> usize {
        self.0.strides.unwrap_or(self.0.pool_size)
    }
}

impl Configurable for $name {
    const KIND: &'static str = $kind;
    type Config = Pooling1DConfig;
    fn get_config(&self) -> Pooling1DConfig {
        self.0
    }
    fn from_config(c: Pooling1DConfig) -> Result<Self> {
        super::check_sizes(Self::KIND, "pool_size", &[c.pool_size])?;
        super::check_sizes(Self::KIND, "strides", &[c.strides.unwrap_or(1)])?;
        Ok($name(c))
    }
    fn examples() -> Vec<super::LayerExample<Pooling1DConfig>> {
        use super::LayerExample as E;
        vec![
            E::new($name::new(2).get_config(), &[8, 3]),
            E::new(
                $name::new(3)
                    .strides(1)
                    .padding(rill_core::Padding::Same)
                    .get_config(),
                &[7, 2],
            ),
        ]
    }
}

impl Layer for $name {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[steps, channels] = input_shape else {
            return Err(Error::Config(format!(
                "{} expects per-sample inputs (steps, channels), found {input_shape:?}", $kind
            )));
        };
        let options = rill_core::Conv2dOptions {
            strides: (1, self.strides_or_pool()),
            padding: self.0.padding,
            dilation: (1, 1),
        };
        let (_, out) = rill_core::window_output_size(
            $kind,
            &[1, steps, channels],
            (1, self.0.pool_size),
            &options,
        )?;
        Ok(vec![out, channels])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let s = x.shape().to_vec();
        let image = x.reshape(&[s[0], 1, s[1], s[2]])?;
        let y = image.$op(
            (1, self.0.pool_size),
            (1, self.strides_or_pool()),
            self.0.padding,
        )?;
        Ok(y.reshape(&[s[0], y.shape()[2], s[2]])?)
    }
}

/// ONNX: the pooling over (batch, channels, steps).
impl OnnxForm for $name {
    fn to_onnx(c: &Pooling1DConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        use super::OnnxAttr::Ints;
        let strides = c.strides.unwrap_or(c.pool_size);
        let (begin, end) = match c.padding {
            Padding::Valid => (0, 0),
            Padding::Same => rill_core::same_padding(l.input_shape[0], c.pool_size, strides, 1),
        };
        let perm = vec![Ints("perm", vec![0, 2, 1])];
        let x = g.node(
            "Transpose",
            vec![l.input.clone()],
            &l.part("ncl"),
            perm.clone(),
        );
        let attrs = vec![
            Ints("kernel_shape", vec![c.pool_size as i64]),
            Ints("strides", vec![strides as i64]),
            Ints("pads", vec![begin as i64, end as i64]),
        ];
        let y = g.node($onnx_op, vec![x], &l.part("pooled"), attrs);
        Ok(g.node("Transpose", vec![y], l.name, perm))
    }
}

/// Keras: the layer of the same name, channels-last.
impl KerasForm for $name {
    const KERAS_POSITIONAL: &'static [&'static str] = &["pool_size"];
    fn to_keras(c: &Pooling1DConfig) -> serde_json::Value {
        serde_json::json!({"pool_size": [c.pool_size], "strides": [c.strides.unwrap_or(c.pool_size)], "padding": super::keras_padding(c.padding), "data_format": "channels_last"})
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<Pooling1DConfig> {
        a.channels_last()?;
        let pool_size = a.size("pool_size", Some(2))?;
        let strides = match a.get("strides") {
            serde_json::Value::Null => None,
            _ => Some(a.size("strides", None)?),
        };
        Ok(Pooling1DConfig {
            pool_size,
            strides,
            padding: a.padding()?,
        })
    }
}
    };
}

pooling1d!(
    /// Max pooling over (steps, channels) samples.
    MaxPooling1D,
    "MaxPooling1D",
    max_pool2d,
    "MaxPool"
);
pooling1d!(
    /// Average pooling over (steps, channels) samples (padded positions left out).
    AveragePooling1D,
    "AveragePooling1D",
    avg_pool2d,
    "AveragePool"
);
