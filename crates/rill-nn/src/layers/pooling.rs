use super::serde_helpers::{check_sizes, padding};
use super::{Configurable, Layer};
use crate::{Error, Result};
use rill_core::{Conv2dOptions, Padding, Tensor};
use serde::{Deserialize, Serialize};

/// The arguments of a 2-D pooling layer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PoolingConfig {
    /// Window height and width.
    pub pool_size: (usize, usize),
    /// Vertical and horizontal step (Keras' default: the window).
    pub strides: Option<(usize, usize)>,
    /// Border handling.
    #[serde(default, with = "padding")]
    pub padding: Padding,
}

impl PoolingConfig {
    fn options(&self) -> Conv2dOptions {
        Conv2dOptions {
            strides: self.strides.unwrap_or(self.pool_size),
            padding: self.padding,
            dilation: (1, 1),
        }
    }
    fn check(self, kind: &str) -> Result<Self> {
        check_sizes(kind, "pool_size", &[self.pool_size.0, self.pool_size.1])?;
        if let Some(s) = self.strides {
            check_sizes(kind, "strides", &[s.0, s.1])?;
        }
        Ok(self)
    }
    fn output_shape(&self, kind: &str, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::Config(format!("{kind}: 2-D pooling expects per-sample inputs (height, width, channels), found {input_shape:?}")));
        }
        let (oh, ow) =
            rill_core::window_output_size("pool2d", input_shape, self.pool_size, &self.options())?;
        Ok(vec![oh, ow, input_shape[2]])
    }
}

/// A pooling window as applied: its size, its strides and its border handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolWindow {
    /// Window height and width.
    pub size: (usize, usize),
    /// Vertical and horizontal step.
    pub strides: (usize, usize),
    /// Border handling (padding never wins a maximum).
    pub padding: Padding,
}

impl PoolWindow {
    /// `x` (NHWC) max-pooled by this window.
    pub fn max_pool(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.max_pool2d(self.size, self.strides, self.padding)?)
    }
}

macro_rules! pooling_layer {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $op:ident, $onnx_op:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(PoolingConfig);
        impl $name {
            /// A pooling layer with a `pool` window; strides default to the window, padding to valid.
            pub fn new(pool: (usize, usize)) -> Self {
                $name(PoolingConfig { pool_size: pool, strides: None, padding: Padding::Valid })
            }
            /// Sets the strides.
            pub fn strides(mut self, s: (usize, usize)) -> Self {
                self.0.strides = Some(s);
                self
            }
            /// Sets the padding.
            pub fn padding(mut self, p: Padding) -> Self {
                self.0.padding = p;
                self
            }
            /// The window as applied.
            pub fn window(&self) -> PoolWindow {
                let o = self.0.options();
                PoolWindow { size: self.0.pool_size, strides: o.strides, padding: o.padding }
            }
        }
        impl Configurable for $name {
            const KIND: &'static str = $kind;
            type Config = PoolingConfig;
            fn get_config(&self) -> PoolingConfig {
                self.0
            }
            fn from_config(c: PoolingConfig) -> Result<Self> {
                Ok($name(c.check($kind)?))
            }
            fn examples() -> Vec<super::LayerExample<PoolingConfig>> {
                use super::LayerExample as E;
                vec![
                    E::new($name::new((2, 2)).get_config(), &[6, 6, 2]),
                    E::new($name::new((3, 3)).strides((1, 2)).padding(Padding::Same).get_config(), &[5, 7, 2]),
                ]
            }
        }
        impl Layer for $name {
            crate::configurable_layer!();
            fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
                self.0.output_shape($kind, input_shape)
            }
            fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
                let o = self.0.options();
                Ok(x.$op(self.0.pool_size, o.strides, o.padding)?)
            }
        }
        /// ONNX: the pooling op in channels-first, Keras' `same` padding as explicit pads.
        impl super::OnnxForm for $name {
            fn to_onnx(
                c: &PoolingConfig,
                l: super::OnnxLayer<'_>,
                g: &mut dyn super::OnnxGraph,
            ) -> Result<String> {
                use super::{pair, window_pads, OnnxAttr::{Int, Ints}};
                let strides = c.strides.unwrap_or(c.pool_size);
                let pads = window_pads(l.input_shape, c.pool_size, strides, (1, 1), c.padding);
                let mut attrs = vec![
                    Ints("kernel_shape", pair(c.pool_size)),
                    Ints("strides", pair(strides)),
                    Ints("pads", pads),
                ];
                if $onnx_op == "AveragePool" {
                    // Keras leaves padded positions out of each average.
                    attrs.push(Int("count_include_pad", 0));
                }
                let x = g.channels_first(&l.input);
                let y = g.node($onnx_op, vec![x], &l.part("nchw"), attrs);
                Ok(g.channels_last(y, l.name))
            }
        }
        /// Keras: the pooling layer of the same name, channels-last.
        impl super::KerasForm for $name {
            const KERAS_POSITIONAL: &'static [&'static str] = &["pool_size"];
            fn to_keras(c: &PoolingConfig) -> serde_json::Value {
                let pair = |p: (usize, usize)| [p.0, p.1];
                serde_json::json!({"pool_size": pair(c.pool_size), "strides": pair(c.strides.unwrap_or(c.pool_size)), "padding": super::keras_padding(c.padding), "data_format": "channels_last"})
            }
            fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<PoolingConfig> {
                a.channels_last()?;
                Ok(PoolingConfig {
                    pool_size: a.pair("pool_size", Some((2, 2)))?,
                    strides: match a.get("strides") {
                        serde_json::Value::Null => None,
                        _ => Some(a.pair("strides", None)?),
                    },
                    padding: a.padding()?,
                })
            }
        }
    };
}

pooling_layer!(
    /// Max pooling over NHWC inputs.
    MaxPooling2D,
    "MaxPooling2D",
    max_pool2d,
    "MaxPool"
);
pooling_layer!(
    /// Average pooling over NHWC inputs.
    AveragePooling2D,
    "AveragePooling2D",
    avg_pool2d,
    "AveragePool"
);

/// The mean over height and width: `(None, h, w, c)` → `(None, c)`.
#[derive(Debug, Default)]
pub struct GlobalAveragePooling2D;

impl GlobalAveragePooling2D {
    /// A global average pooling layer.
    pub fn new() -> Self {
        GlobalAveragePooling2D
    }
}

/// No arguments; an empty JSON object.
impl Configurable for GlobalAveragePooling2D {
    const KIND: &'static str = "GlobalAveragePooling2D";
    type Config = serde_json::Map<String, serde_json::Value>;
    fn get_config(&self) -> Self::Config {
        Default::default()
    }
    fn from_config(_: Self::Config) -> Result<Self> {
        Ok(GlobalAveragePooling2D)
    }
    fn examples() -> Vec<super::LayerExample<Self::Config>> {
        vec![super::LayerExample::new(Default::default(), &[4, 5, 3])]
    }
}

impl Layer for GlobalAveragePooling2D {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::Config(format!(
                "GlobalAveragePooling2D expects per-sample inputs (height, width, channels), found {input_shape:?}"
            )));
        }
        Ok(vec![input_shape[2]])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.mean(&[1, 2], false)?)
    }
}

/// ONNX: `ReduceMean` over height and width.
impl super::OnnxForm for GlobalAveragePooling2D {
    fn to_onnx(
        _c: &Self::Config,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        use super::OnnxAttr::{Int, Ints};
        let attrs = vec![Ints("axes", vec![1, 2]), Int("keepdims", 0)];
        Ok(g.node("ReduceMean", vec![l.input.clone()], l.name, attrs))
    }
}

/// Keras: `keras.layers.GlobalAveragePooling2D`, channels-last, without `keepdims`.
impl super::KerasForm for GlobalAveragePooling2D {
    fn to_keras(_c: &Self::Config) -> serde_json::Value {
        serde_json::json!({"data_format": "channels_last", "keepdims": false})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<Self::Config> {
        a.channels_last()?;
        a.expect(
            "keepdims",
            &[serde_json::json!(false)],
            "Rill's GlobalAveragePooling2D drops the pooled axes",
        )?;
        Ok(Default::default())
    }
}
