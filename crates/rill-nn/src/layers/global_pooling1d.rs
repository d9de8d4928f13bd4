//! `GlobalAveragePooling1D` and `GlobalMaxPooling1D`: the mean or the largest value over all
//! steps, per channel, as Keras' layers of those names — (steps, channels) → (channels).

use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Result};
use rill_core::Tensor;

/// No arguments: an empty JSON object.
type NoConfig = serde_json::Map<String, serde_json::Value>;

macro_rules! global_pooling1d {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $reduce:ident, $onnx_op:literal, $imports:expr, $masked:expr) => {
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
            fn call_masked(&self, inputs: &[Tensor], mask: &Tensor, training: bool) -> Result<Tensor> {
                match (inputs, $masked) {
                    ([x], true) => masked_mean(x, mask),
                    _ => self.call_on(inputs, training),
                }
            }
        }

        /// ONNX: the reduction over the steps axis.
        impl OnnxForm for $name {
            const ONNX_OPS: &'static [&'static str] = $imports;
            /// The reduction over axis 1 of (batch, steps, channels) inputs, without keepdims,
            /// as Rill writes it.
            fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<NoConfig>>> {
                let s = super::onnx_computed(node, 0)?;
                // Axes: an attribute until opset 18, input 1 from then on.
                let axes = if node.opset() >= 18 { node.constant_ints(1)? } else { node.ints("axes")? };
                let steps_only = axes.is_some_and(|axes| matches!(axes[..], [1] | [-2]));
                if s.len() != 2 || !steps_only || node.int("keepdims", 1)? != 0 {
                    return Err(super::onnx_unsupported(
                        node,
                        "a reduction other than over axis 1 of (batch, steps, channels) inputs with keepdims=0",
                    ));
                }
                Ok(Some(super::OnnxImport::new(NoConfig::new())))
            }
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
    "ReduceMean",
    // ReduceMean in general is the importer's OnnxReduceMean.
    &[],
    // With a mask, the mean of the real steps only, as Keras takes it.
    true
);
global_pooling1d!(
    /// The largest value over all steps, per channel.
    GlobalMaxPooling1D,
    "GlobalMaxPooling1D",
    max,
    "ReduceMax",
    &["ReduceMax"],
    // Keras' GlobalMaxPooling1D takes every step, mask or not.
    false
);

/// The mean over the steps whose mask is 1: Σ x·m / Σ m per sequence (0 for a sequence that
/// is all padding, where Keras divides zero by zero).
fn masked_mean(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(x.dtype())?.unsqueeze(-1)?;
    let total = x.mul(&m)?.sum(&[1], false)?;
    let count = m
        .sum(&[1], false)?
        .maximum(&Tensor::scalar(1e-12f32).to_dtype(x.dtype())?)?;
    Ok(total.div(&count)?)
}
