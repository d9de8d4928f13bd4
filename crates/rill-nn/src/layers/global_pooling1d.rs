//! `GlobalAveragePooling1D` and `GlobalMaxPooling1D`: the mean or the largest value over all
//! steps, per channel, as Keras' layers of those names — (steps, channels) → (channels).

use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Result};
use rill_core::Tensor;

/// No arguments: an empty JSON object.
type NoConfig = serde_json::Map<String, serde_json::Value>;

macro_rules! global_pooling1d {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $reduce:ident, $onnx_op:literal) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name;

        impl $name {
            /// The layer.
            pub fn new() -> Self {
                $name
            }
        }

        impl Configurable for $name {
            const KIND: &'static str = $kind;
            type Config = NoConfig;
            fn get_config(&self) -> NoConfig {
                NoConfig::new()
            }
            fn from_config(_: NoConfig) -> Result<Self> {
                Ok($name)
            }
            fn examples() -> Vec<super::LayerExample<NoConfig>> {
                vec![super::LayerExample::new(NoConfig::new(), &[6, 3])]
            }
        }

        impl Layer for $name {
            crate::configurable_layer!();
            fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
                match input_shape {
                    &[_, channels] => Ok(vec![channels]),
                    _ => Err(Error::Config(format!(
                        "{} expects per-sample inputs (steps, channels), found {input_shape:?}",
                        $kind
                    ))),
                }
            }
            fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
                Ok(x.$reduce(&[1], false)?)
            }
        }

        /// ONNX: the reduction over the steps axis.
        impl OnnxForm for $name {
            fn to_onnx(_c: &NoConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
                use super::OnnxAttr::{Int, Ints};
                let attrs = vec![Ints("axes", vec![1]), Int("keepdims", 0)];
                Ok(g.node($onnx_op, vec![l.input.clone()], l.name, attrs))
            }
        }

        /// Keras: the layer of the same name, channels-last, without `keepdims`.
        impl KerasForm for $name {
            fn to_keras(_c: &NoConfig) -> serde_json::Value {
                serde_json::json!({"data_format": "channels_last", "keepdims": false})
            }
            fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<NoConfig> {
                a.channels_last()?;
                a.expect(
                    "keepdims",
                    &[serde_json::json!(false)],
                    "Rill's global poolings drop the pooled axis",
                )?;
                Ok(NoConfig::new())
            }
        }
    };
}

global_pooling1d!(
    /// The mean over all steps, per channel.
    GlobalAveragePooling1D,
    "GlobalAveragePooling1D",
    mean,
    "ReduceMean"
);
global_pooling1d!(
    /// The largest value over all steps, per channel.
    GlobalMaxPooling1D,
    "GlobalMaxPooling1D",
    max,
    "ReduceMax"
);
