//! A layer's ONNX form: how it writes itself into an ONNX graph, kept in the layer's own file
//! beside its call ([`OnnxForm`]). The protobuf side is rill-onnx's, behind [`OnnxGraph`]: a
//! layer only names ops, inputs and attributes, in Rill's channels-last layout, and asks the
//! graph for the channels-first form where an ONNX op needs one.

use super::Configurable;
use crate::{Error, Result};
use rill_core::Tensor;

/// An attribute of an ONNX node.
#[derive(Debug, Clone, PartialEq)]
pub enum OnnxAttr {
    /// An integer attribute.
    Int(&'static str, i64),
    /// A list of integers.
    Ints(&'static str, Vec<i64>),
    /// A float attribute.
    Float(&'static str, f32),
    /// A list of floats.
    Floats(&'static str, Vec<f32>),
    /// A string attribute.
    Str(&'static str, String),
    /// A list of strings.
    Strs(&'static str, Vec<String>),
}

/// The ONNX graph being written, as a layer sees it. Names given are bases: the graph makes
/// each unique (a layer's own name, when free, for its output). Values are named by strings.
pub trait OnnxGraph {
    /// An initializer holding `value` (a weight).
    fn weight(&mut self, base: &str, value: &Tensor) -> Result<String>;
    /// A float scalar initializer.
    fn scalar(&mut self, base: &str, value: f32) -> String;
    /// An int64 vector initializer.
    fn int64s(&mut self, base: &str, values: &[i64]) -> String;
    /// A node computing `op` of `inputs`; returns its output, named after `base`.
    fn node(&mut self, op: &str, inputs: Vec<String>, base: &str, attrs: Vec<OnnxAttr>) -> String;
    /// `x` through the Keras activation called `activation`, named after `base` (`linear`: `x`
    /// itself).
    fn activation(&mut self, base: &str, activation: &str, x: String) -> Result<String>;
    /// The channels-first (NCHW) form of the channels-last rank-4 value `x`, made once.
    fn channels_first(&mut self, x: &str) -> String;
    /// The channels-first value `y` back in channels-last, named after `base`; both forms are
    /// remembered, so a following channels-first op transposes nothing.
    fn channels_last(&mut self, y: String, base: &str) -> String;
    /// The channels-first form of `x`, if one was made.
    fn existing_channels_first(&self, x: &str) -> Option<String>;
}

/// What a layer's export works on.
pub struct OnnxLayer<'a> {
    /// The layer's name in the model: its output's name in the file.
    pub name: &'a str,
    /// The value the layer reads (its first, for a layer of several inputs).
    pub input: String,
    /// Every value the layer reads, in order.
    pub inputs: Vec<String>,
    /// Its per-sample shape.
    pub input_shape: &'a [usize],
    /// The per-sample shape of every value it reads, in order.
    pub input_shapes: Vec<Vec<usize>>,
    /// The layer's variables' values, in [`Layer::variables`](super::Layer::variables) order.
    pub weights: Vec<Tensor>,
}

impl OnnxLayer<'_> {
    /// Weight `i`, or an error saying the layer is not built.
    pub fn weight(&self, i: usize) -> Result<&Tensor> {
        self.weights
            .get(i)
            .ok_or_else(|| Error::Config(format!("layer '{}' is not built", self.name)))
    }
    /// `{name}/{suffix}`: the base name of one of the layer's intermediate values.
    pub fn part(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.name)
    }
}

/// A layer that writes itself as ONNX nodes, from its typed config, and reads itself from the
/// ONNX nodes its import pattern answers to. Register it with
/// [`register_onnx_layer`](super::register_onnx_layer) (the built-in layers are).
pub trait OnnxForm: Configurable {
    /// The ONNX operators whose nodes [`OnnxForm::from_onnx`] may import as this layer.
    const ONNX_OPS: &'static [&'static str] = &[];
    /// Writes the layer reading `layer.input` into `graph`; returns its output's name.
    fn to_onnx(
        config: &Self::Config,
        layer: OnnxLayer<'_>,
        graph: &mut dyn OnnxGraph,
    ) -> Result<String>;
    /// This layer for `node` (an operator of [`OnnxForm::ONNX_OPS`]), or `None` when the node
    /// is not this layer's — another kind's pattern, or the importer itself, then takes it; an
    /// error when it is, but asks for what the layer cannot do.
    fn from_onnx(_node: &dyn OnnxNode) -> Result<Option<OnnxImport<Self::Config>>> {
        Ok(None)
    }
}

/// An ONNX node as the importer shows it to a layer's import pattern: its operator, its
/// attributes, and its inputs — those the graph computes by their per-sample shape, constants
/// by their values. rill-onnx implements it.
pub trait OnnxNode {
    /// The operator, e.g. `Gemm`.
    fn op(&self) -> &str;
    /// The opset the file imports (of the default domain).
    fn opset(&self) -> i64;
    /// An integer attribute, or `default`.
    fn int(&self, name: &str, default: i64) -> Result<i64>;
    /// A float attribute, or `default`.
    fn float(&self, name: &str, default: f32) -> Result<f32>;
    /// A list of integers, if given.
    fn ints(&self, name: &str) -> Result<Option<Vec<i64>>>;
    /// A string attribute, if given.
    fn string(&self, name: &str) -> Result<Option<String>>;
    /// A list-of-floats attribute, if present.
    fn floats(&self, name: &str) -> Result<Option<Vec<f32>>>;
    /// A list-of-strings attribute, if present.
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>>;
    /// How many outputs the node's graph reads (a layer computes one).
    fn outputs_used(&self) -> usize;
    /// The per-sample shape of input `i` (the batch axis left out) when the graph computes it.
    fn computed(&self, i: usize) -> Option<Vec<usize>>;
    /// Input `i` when it is a constant, in f32 (what the layer keeps as a weight), charged to
    /// the import's memory budget; `None` when it is absent or computed.
    fn constant(&self, i: usize) -> Result<Option<Tensor>>;
    /// Input `i` when it is a constant of whole numbers (pads, axes, shapes).
    fn constant_ints(&self, i: usize) -> Result<Option<Vec<i64>>>;
}

/// What an import pattern makes of a node.
pub struct OnnxImport<C> {
    /// The layer's arguments.
    pub config: C,
    /// Its weights' values, in [`Layer::variables`](super::Layer::variables) order.
    pub weights: Vec<Tensor>,
    /// Which of the node's inputs the layer reads (0 but for a lookup such as `Gather`, whose
    /// table comes first).
    pub input: usize,
}

impl<C> OnnxImport<C> {
    /// A layer of `config` reading the node's first input, with no weights.
    pub fn new(config: C) -> Self {
        OnnxImport {
            config,
            weights: Vec::new(),
            input: 0,
        }
    }
    /// The same with `weights`.
    pub fn weights(mut self, weights: Vec<Tensor>) -> Self {
        self.weights = weights;
        self
    }
}

/// The error for what a node asks that a layer cannot do.
pub fn onnx_unsupported(node: &dyn OnnxNode, what: impl std::fmt::Display) -> Error {
    Error::Config(format!("{}: {what} is not supported", node.op()))
}

/// The computed input `i` of `node`, or an error naming it.
pub fn onnx_computed(node: &dyn OnnxNode, i: usize) -> Result<Vec<usize>> {
    node.computed(i).ok_or_else(|| {
        Error::Config(format!(
            "{}: input {i} must be computed by the graph, not a constant",
            node.op()
        ))
    })
}

/// The constant input `i` of `node` (`what` names it), or an error.
pub fn onnx_constant(node: &dyn OnnxNode, i: usize, what: &str) -> Result<Tensor> {
    node.constant(i)?.ok_or_else(|| {
        Error::Config(format!(
            "{}: {what} (input {i}) must be a constant, not computed by the graph or missing",
            node.op()
        ))
    })
}

/// A `Clip` node's bounds: inputs from opset 11 on, attributes before; unbounded when absent.
pub fn onnx_clip_bounds(node: &dyn OnnxNode) -> Result<(f32, f32)> {
    let bound = |i: usize, name: &str, default: f32| -> Result<f32> {
        if node.opset() >= 11 {
            Ok(node
                .constant(i)?
                .and_then(|c| c.to_vec::<f32>().ok()?.first().copied())
                .unwrap_or(default))
        } else {
            node.float(name, default)
        }
    };
    Ok((
        bound(1, "min", f32::NEG_INFINITY)?,
        bound(2, "max", f32::INFINITY)?,
    ))
}

/// `axis` (negative from the end) as a position in a rank-`rank` value, or an error.
pub fn onnx_axis(node: &dyn OnnxNode, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(Error::Config(format!(
            "{}: axis {axis} is out of range for rank {rank}",
            node.op()
        )));
    }
    Ok(a as usize)
}

/// ONNX's `pads` (top, left, bottom, right) for a 2-D window over an (H, W, C) input: none for
/// `valid`, TensorFlow's split for `same` (the odd pixel at the end).
pub fn window_pads(
    hwc: &[usize],
    kernel: (usize, usize),
    strides: (usize, usize),
    dilation: (usize, usize),
    padding: rill_core::Padding,
) -> Vec<i64> {
    if padding == rill_core::Padding::Valid {
        return vec![0; 4];
    }
    let (top, bottom) = rill_core::same_padding(hwc[0], kernel.0, strides.0, dilation.0);
    let (left, right) = rill_core::same_padding(hwc[1], kernel.1, strides.1, dilation.1);
    [top, left, bottom, right].map(|p| p as i64).to_vec()
}

/// A pair of sizes as ONNX's integer list.
pub fn pair(p: (usize, usize)) -> Vec<i64> {
    vec![p.0 as i64, p.1 as i64]
}
