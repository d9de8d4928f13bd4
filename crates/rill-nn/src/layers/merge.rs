//! `Add`, `Multiply` and `Concatenate`: layers of several inputs (Keras' merging layers), for
//! graphs built with [`FunctionalBuilder::merge`](crate::FunctionalBuilder::merge). They are
//! layers like any other — one registry, configs, Keras and ONNX forms — that take their inputs
//! through [`Layer::output_shape_for`] and [`Layer::call_on`].

use super::{
    Configurable, KerasArgs, KerasForm, Layer, LayerExample, OnnxForm, OnnxGraph, OnnxLayer,
};
use crate::{Error, Result};
use rill_core::Tensor;

/// No arguments: an empty JSON object.
type NoConfig = serde_json::Map<String, serde_json::Value>;

fn shapes_list(shapes: &[Vec<usize>]) -> String {
    shapes
        .iter()
        .map(|s| crate::batch_shape(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shape of inputs that must all have one shape (the builder names the layer in errors).
fn same_shapes(shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
    match shapes.first() {
        Some(first) if shapes.len() >= 2 && shapes.iter().all(|s| s == first) => Ok(first.clone()),
        _ => Err(Error::Config(format!(
            "needs at least two inputs of one shape, found {}",
            shapes_list(shapes)
        ))),
    }
}

/// The error for a merge given one input through the single-input path.
fn one_input(kind: &str) -> Error {
    Error::Config(format!(
        "{kind} merges two or more inputs: apply it with FunctionalBuilder::merge"
    ))
}

/// Elementwise merges: the ONNX op folded over the inputs, in channels-first where every
/// input already exists that way (after convolutions), so no transpose comes between.
fn elementwise_onnx(op: &str, l: &OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> String {
    let nchw: Option<Vec<String>> = l
        .inputs
        .iter()
        .map(|x| g.existing_channels_first(x))
        .collect();
    let fold = |g: &mut dyn OnnxGraph, xs: &[String], base: &str| {
        let mut acc = xs[0].clone();
        for (k, x) in xs[1..].iter().enumerate() {
            let target = if k + 2 == xs.len() {
                base.to_string()
            } else {
                format!("{base}/partial")
            };
            acc = g.node(op, vec![acc, x.clone()], &target, vec![]);
        }
        acc
    };
    match nchw {
        Some(xs) => {
            let y = fold(g, &xs, &l.part("nchw"));
            g.channels_last(y, l.name)
        }
        None => fold(g, &l.inputs, l.name),
    }
}

macro_rules! elementwise_merge {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $method:ident, $onnx_op:literal) => {
        $(#[$doc])*
        #[derive(Debug, Default, Clone, Copy)]
        pub struct $name;

        impl Configurable for $name {
            const KIND: &'static str = $kind;
            type Config = NoConfig;
            fn get_config(&self) -> NoConfig {
                NoConfig::new()
            }
            fn from_config(_: NoConfig) -> Result<Self> {
                Ok($name)
            }
            fn examples() -> Vec<LayerExample<NoConfig>> {
                vec![
                    LayerExample::new(NoConfig::new(), &[4]).inputs(2),
                    LayerExample::new(NoConfig::new(), &[2, 3]).inputs(3),
                ]
            }
        }

        impl Layer for $name {
            crate::configurable_layer!();
            fn compute_output_shape(&self, _input_shape: &[usize]) -> Result<Vec<usize>> {
                Err(one_input($kind))
            }
            fn call(&self, _x: &Tensor, _training: bool) -> Result<Tensor> {
                Err(one_input($kind))
            }
            fn output_shape_for(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
                same_shapes(input_shapes)
            }
            fn call_on(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
                let mut acc = inputs
                    .first()
                    .ok_or_else(|| one_input($kind))?
                    .clone();
                for t in &inputs[1..] {
                    acc = acc.$method(t)?;
                }
                Ok(acc)
            }
        }

        /// ONNX: the elementwise op folded over the inputs.
        impl OnnxForm for $name {
            fn to_onnx(_: &NoConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
                Ok(elementwise_onnx($onnx_op, &l, g))
            }
        }

        /// Keras: the merging layer of the same name (no arguments).
        impl KerasForm for $name {
            fn to_keras(_: &NoConfig) -> serde_json::Value {
                serde_json::json!({})
            }
            fn from_keras(_: &mut KerasArgs<'_>, _rank: usize) -> Result<NoConfig> {
                Ok(NoConfig::new())
            }
        }
    };
}

elementwise_merge!(
    /// The elementwise sum of its inputs (e.g. a residual connection).
    Add,
    "Add",
    add,
    "Add"
);
elementwise_merge!(
    /// The elementwise product of its inputs.
    Multiply,
    "Multiply",
    mul,
    "Mul"
);

/// Joins its inputs along the last per-sample axis (Keras' default `axis=-1`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Concatenate;

impl Configurable for Concatenate {
    const KIND: &'static str = "Concatenate";
    type Config = NoConfig;
    fn get_config(&self) -> NoConfig {
        NoConfig::new()
    }
    fn from_config(_: NoConfig) -> Result<Self> {
        Ok(Concatenate)
    }
    fn examples() -> Vec<LayerExample<NoConfig>> {
        vec![
            LayerExample::new(NoConfig::new(), &[3]).inputs(2),
            LayerExample::new(NoConfig::new(), &[2, 2]).inputs(3),
        ]
    }
}

impl Layer for Concatenate {
    crate::configurable_layer!();
    fn compute_output_shape(&self, _input_shape: &[usize]) -> Result<Vec<usize>> {
        Err(one_input(Self::KIND))
    }
    fn call(&self, _x: &Tensor, _training: bool) -> Result<Tensor> {
        Err(one_input(Self::KIND))
    }
    fn output_shape_for(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let first = shapes
            .first()
            .filter(|f| !f.is_empty() && shapes.len() >= 2)
            .ok_or_else(|| Error::Config("needs at least two inputs with a feature axis".into()))?;
        let r = first.len();
        if shapes
            .iter()
            .any(|s| s.len() != r || s[..r - 1] != first[..r - 1])
        {
            return Err(Error::Config(format!(
                "inputs must agree on all but the last axis, found {}",
                shapes_list(shapes)
            )));
        }
        let mut out = first.clone();
        out[r - 1] = shapes.iter().map(|s| s[r - 1]).sum();
        Ok(out)
    }
    fn call_on(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        Ok(Tensor::concat(inputs, -1)?)
    }
}

/// ONNX: `Concat` on the last axis.
impl OnnxForm for Concatenate {
    fn to_onnx(_: &NoConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let attrs = vec![super::OnnxAttr::Int("axis", -1)];
        Ok(g.node("Concat", l.inputs.clone(), l.name, attrs))
    }
}

/// Keras: `keras.layers.Concatenate` on the last axis.
impl KerasForm for Concatenate {
    const KERAS_POSITIONAL: &'static [&'static str] = &["axis"];
    fn to_keras(_: &NoConfig) -> serde_json::Value {
        serde_json::json!({"axis": -1})
    }
    fn from_keras(a: &mut KerasArgs<'_>, rank: usize) -> Result<NoConfig> {
        a.last_axis("axis", rank)?;
        Ok(NoConfig::new())
    }
}
