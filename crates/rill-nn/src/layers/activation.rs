use super::{Configurable, Layer};
use crate::{Activation, Error, Result};
use rill_core::Tensor;
use serde::{Deserialize, Serialize};

/// The argument of an activation layer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActivationConfig {
    /// The activation applied.
    #[serde(default)]
    pub activation: Activation,
}

macro_rules! activation_layer {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $default:expr, $onnx_ops:expr, $from_onnx:path) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            activation: Activation,
        }
        impl Configurable for $name {
            const KIND: &'static str = $kind;
            type Config = ActivationConfig;
            fn get_config(&self) -> ActivationConfig {
                ActivationConfig { activation: self.activation }
            }
            fn from_config(c: ActivationConfig) -> Result<Self> {
                Ok($name { activation: c.activation })
            }
            fn examples() -> Vec<super::LayerExample<ActivationConfig>> {
                // The activation layer runs each activation; ReLU and Softmax their own.
                let all = $default == Activation::Linear;
                Activation::ALL
                    .into_iter()
                    .filter(|&a| all || a == $default)
                    .map(|activation| super::LayerExample::new(ActivationConfig { activation }, &[2, 5]))
                    .collect()
            }
        }
        impl Layer for $name {
            crate::configurable_layer!();
            fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
                Ok(input_shape.to_vec())
            }
            fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
                self.activation.apply(x)
            }
            fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
                super::pass_mask(masks)
            }
        }
        impl Default for $name {
            fn default() -> Self {
                $name { activation: $default }
            }
        }
        /// ONNX: the activation's op; after a convolution, on its channels-first form (no
        /// transpose between them), except a softmax, which runs over the channels.
        impl super::OnnxForm for $name {
            const ONNX_OPS: &'static [&'static str] = $onnx_ops;
            fn from_onnx(
                node: &dyn super::OnnxNode,
            ) -> Result<Option<super::OnnxImport<ActivationConfig>>> {
                $from_onnx(node)
            }
            fn to_onnx(
                c: &ActivationConfig,
                l: super::OnnxLayer<'_>,
                g: &mut dyn super::OnnxGraph,
            ) -> Result<String> {
                // Files from before the config named the activation of ReLU and Softmax.
                let activation = match c.activation {
                    Activation::Linear => $default,
                    a => a,
                }
                .name();
                match g.existing_channels_first(&l.input) {
                    Some(y) if activation != "softmax" => {
                        let y = g.activation(&l.part("nchw"), activation, y)?;
                        Ok(g.channels_last(y, l.name))
                    }
                    _ if activation == "linear" => {
                        Ok(g.node("Identity", vec![l.input.clone()], l.name, vec![]))
                    }
                    _ => g.activation(l.name, activation, l.input.clone()),
                }
            }
        }
    };
}

activation_layer!(
    /// Applies an [`Activation`] (Keras' `layers.Activation`).
    ActivationLayer,
    "Activation",
    Activation::Linear,
    &["Relu", "Sigmoid", "Tanh", "Softplus", "Elu", "Gelu", "Clip"],
    activation_from_onnx
);
activation_layer!(
    /// max(x, 0) as a layer.
    ReLU,
    "ReLU",
    Activation::Relu,
    &[],
    nothing_from_onnx
);
activation_layer!(
    /// Softmax over the last axis as a layer: turns logits into probabilities.
    Softmax,
    "Softmax",
    Activation::Softmax,
    &["Softmax"],
    softmax_from_onnx
);

type Found = Result<Option<super::OnnxImport<ActivationConfig>>>;

fn activation(activation: Activation) -> Found {
    Ok(Some(super::OnnxImport::new(ActivationConfig {
        activation,
    })))
}

/// ONNX's activations as Keras' `Activation` layer: those of the same definition, and a
/// `Clip` to [0, ∞) as a ReLU (other clips are the importer's `OnnxUnary`).
fn activation_from_onnx(node: &dyn super::OnnxNode) -> Found {
    match node.op() {
        "Relu" => activation(Activation::Relu),
        "Sigmoid" => activation(Activation::Sigmoid),
        "Tanh" => activation(Activation::Tanh),
        "Softplus" => activation(Activation::Softplus),
        "Elu" => match node.float("alpha", 1.0)? {
            1.0 => activation(Activation::Elu),
            alpha => Err(super::onnx_unsupported(
                node,
                format!("alpha {alpha} (only 1.0)"),
            )),
        },
        "Gelu" => match node.string("approximate")?.as_deref() {
            None | Some("none") => activation(Activation::Gelu),
            Some(other) => Err(super::onnx_unsupported(
                node,
                format!("approximate='{other}' (only 'none')"),
            )),
        },
        "Clip" => {
            if super::onnx_clip_bounds(node)? == (0.0, f32::INFINITY) {
                activation(Activation::Relu)
            } else {
                Ok(None)
            }
        }
        _ => Ok(None),
    }
}

/// ONNX has no node a `ReLU` layer answers to that `Activation` does not.
fn nothing_from_onnx(_node: &dyn super::OnnxNode) -> Found {
    Ok(None)
}

/// ONNX `Softmax` over the last axis (any other axis is the importer's `OnnxSoftmax`).
fn softmax_from_onnx(node: &dyn super::OnnxNode) -> Found {
    let rank = super::onnx_computed(node, 0)?.len() + 1;
    let default = if node.opset() >= 13 { -1 } else { 1 };
    if super::onnx_axis(node, node.int("axis", default)?, rank)? == rank - 1 {
        Ok(Some(super::OnnxImport::new(ActivationConfig {
            activation: Activation::Softmax,
        })))
    } else {
        Ok(None)
    }
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> Self {
        ActivationLayer { activation }
    }
    /// A layer applying the activation called `name` in Keras.
    pub fn from_name(name: &str) -> Result<Self> {
        Activation::from_name(name)
            .map(Self::new)
            .map_err(|e| Error::Config(e.to_string()))
    }
}

impl ReLU {
    /// A ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Softmax {
    /// A softmax layer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Keras: `keras.layers.Activation`.
impl super::KerasForm for ActivationLayer {
    const KERAS_POSITIONAL: &'static [&'static str] = &["activation"];
    fn to_keras(c: &ActivationConfig) -> serde_json::Value {
        serde_json::json!({"activation": c.activation.name()})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<ActivationConfig> {
        Ok(ActivationConfig {
            activation: a.activation()?,
        })
    }
}

/// Keras: `keras.layers.ReLU` without a cap, a slope or a threshold.
impl super::KerasForm for ReLU {
    fn to_keras(_c: &ActivationConfig) -> serde_json::Value {
        serde_json::json!({})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<ActivationConfig> {
        use serde_json::json;
        a.expect(
            "max_value",
            &[],
            "a capped ReLU is not among Rill's activations",
        )?;
        a.expect(
            "negative_slope",
            &[json!(0), json!(0.0)],
            "use LeakyReLU's activation",
        )?;
        a.expect(
            "threshold",
            &[json!(0), json!(0.0)],
            "Rill's ReLU cuts at 0",
        )?;
        Ok(ActivationConfig {
            activation: Activation::Relu,
        })
    }
}

/// Keras: `keras.layers.Softmax` over the last axis.
impl super::KerasForm for Softmax {
    fn to_keras(_c: &ActivationConfig) -> serde_json::Value {
        serde_json::json!({"axis": -1})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, rank: usize) -> Result<ActivationConfig> {
        a.last_axis("axis", rank)?;
        Ok(ActivationConfig {
            activation: Activation::Softmax,
        })
    }
}
