//! ONNX file → Rill [`Model`]: a functional graph whose nodes are Rill's Keras layers where
//! they compute the same thing (Gemm and MatMul with a weight → Dense, Relu → Activation,
//! LayerNormalization, Flatten, Reshape, Gather on a table → Embedding) and the ONNX-exact
//! layers of [`layers`] elsewhere. Shape computations that PyTorch writes into graphs
//! (`Shape` → `Gather` → `Unsqueeze` → `Concat` → `Reshape`) are folded away while importing,
//! with the batch size kept symbolic.

mod fold;
pub mod layers;
mod moved;
mod node_view;
mod ops;
mod recurrent;

use crate::error::{invalid, unsupported, Error, Result};
use crate::proto::{DimensionValue, GraphProto, ModelProto, NodeProto, TensorProto};
use crate::tensors::Const;
use layers::*;
use prost::Message;
use rill_core::Tensor;
use rill_nn::layers::{register_onnx_layer, Layer};
use rill_nn::{FunctionalBuilder, Model, Node};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The oldest default-domain opset imported.
pub const MIN_OPSET: i64 = 11;
/// The newest default-domain opset imported.
pub const MAX_OPSET: i64 = 21;

/// The ONNX operators the importer handles itself: folded when their inputs are constants
/// (`fold.rs`), or read as reshapes, arithmetic and joins of computed values (`ops.rs`). The
/// operators a layer reads itself from are that layer's (`OnnxForm::ONNX_OPS`, in its file).
const IMPORTER_OPS: &[&str] = &[
    "Add",
    "Cast",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Div",
    "Dropout",
    "Flatten",
    "Gather",
    "Identity",
    "MatMul",
    "Mul",
    "Pow",
    "Reshape",
    "Shape",
    "Slice",
    "Squeeze",
    "Sub",
    "Transpose",
    "Unsqueeze",
];

/// Every ONNX operator the importer reads, sorted: its own, and those the registered layers'
/// import patterns answer to.
pub fn supported_ops() -> Vec<&'static str> {
    register_layers();
    let mut ops: Vec<&'static str> = IMPORTER_OPS
        .iter()
        .copied()
        .chain(rill_nn::layers::onnx_import_ops())
        .collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

/// The largest file read (protobuf itself stops at 2 GiB).
const MAX_FILE_BYTES: u64 = 2 << 30;

/// What an import may make beyond twice the file's size: folded constants, and the copies of
/// constants that layers keep as weights. Real models fold a few shape vectors; a file of a
/// few kilobytes must not make gigabytes.
const FOLD_ALLOWANCE: usize = 256 << 20;

/// The bytes an import may still allocate for values the file does not hold byte for byte.
/// Every folded result and every constant a layer keeps is charged here before it is made, so
/// a small file that names one large constant many times is refused, not obeyed.
pub(crate) struct Budget {
    left: std::cell::Cell<usize>,
    total: usize,
}

impl Budget {
    /// The budget for a file of `file_bytes`: its weights may be copied into layers (twice,
    /// for weights two layers share), plus [`FOLD_ALLOWANCE`].
    fn for_file(file_bytes: usize) -> Budget {
        let total = file_bytes.saturating_mul(2).saturating_add(FOLD_ALLOWANCE);
        Budget {
            left: std::cell::Cell::new(total),
            total,
        }
    }

    /// Takes `count` values of `width` bytes from the budget, or refuses naming `what`.
    pub fn charge(&self, what: &str, count: usize, width: usize) -> Result<()> {
        let bytes = count.saturating_mul(width);
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(invalid(format!(
                "{what} would make {count} values ({bytes} bytes); the model may make at most {} bytes beyond its file's while importing",
                self.total
            ))),
        }
    }
}

/// Makes the ONNX layers known to the model-file loader, so an imported model saved as
/// `.rill` loads again. [`load`] calls it; call it before loading such a `.rill` file in a
/// program that has not imported anything yet.
pub fn register_layers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        register_onnx_layer::<OnnxConv>();
        register_onnx_layer::<OnnxPool>();
        register_onnx_layer::<OnnxBatchNorm>();
        register_onnx_layer::<OnnxTranspose>();
        register_onnx_layer::<OnnxPad>();
        register_onnx_layer::<OnnxReduceMean>();
        register_onnx_layer::<OnnxUnary>();
        register_onnx_layer::<OnnxSoftmax>();
        register_onnx_layer::<OnnxConstantOp>();
        register_onnx_layer::<OnnxBinary>();
        register_onnx_layer::<OnnxConcat>();
        register_onnx_layer::<OnnxSlice>();
        register_onnx_layer::<OnnxMatMul>();
    });
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    // Bounded: a path to an endless stream (`/dev/zero`) must not eat all memory.
    rill_io::read_bounded(path, MAX_FILE_BYTES).map_err(io)
}

/// Reads an ONNX file as a Rill model.
pub fn load(path: impl AsRef<Path>) -> Result<Model> {
    load_bytes(&read_file(path.as_ref())?)
}

/// The class names an exported file carries in its metadata (`class_names`, a JSON list).
pub fn class_names(path: impl AsRef<Path>) -> Result<Option<Vec<String>>> {
    Ok(names_in(&decode(&read_file(path.as_ref())?)?))
}

/// [`load`] and [`class_names`] from one read and one decode of the file.
pub fn load_with_class_names(path: impl AsRef<Path>) -> Result<(Model, Option<Vec<String>>)> {
    let bytes = read_file(path.as_ref())?;
    let model = decode(&bytes)?;
    let names = names_in(&model);
    Ok((import(&model, bytes.len())?, names))
}

fn names_in(model: &ModelProto) -> Option<Vec<String>> {
    model
        .metadata_props
        .iter()
        .find(|p| p.key == "class_names")
        .and_then(|p| serde_json::from_str(&p.value).ok())
}

fn decode(bytes: &[u8]) -> Result<ModelProto> {
    ModelProto::decode(bytes).map_err(|e| Error::Decode(e.to_string()))
}

/// Reads ONNX bytes as a Rill model.
pub fn load_bytes(bytes: &[u8]) -> Result<Model> {
    import(&decode(bytes)?, bytes.len())
}

/// The Rill model a decoded ONNX file of `file_bytes` describes.
fn import(model: &ModelProto, file_bytes: usize) -> Result<Model> {
    register_layers();
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| invalid("the file holds no graph"))?;
    let mut opset = None;
    for o in &model.opset_import {
        match o.domain.as_str() {
            "" | "ai.onnx" => opset = Some(o.version),
            // Other domains only matter if a node uses them (checked per node).
            _ => {}
        }
    }
    let opset = opset.ok_or_else(|| invalid("the file imports no default (ai.onnx) opset"))?;
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(unsupported(format!(
            "opset {opset} is not supported: Rill imports opsets {MIN_OPSET} to {MAX_OPSET} (re-export the model with opset_version between them)"
        )));
    }
    let name = if graph.name.is_empty() {
        "onnx_model"
    } else {
        &graph.name
    };
    Importer::new(opset, graph, Budget::for_file(file_bytes)).run(&sanitize(name))
}

/// A name usable as a Rill layer name: PyTorch's `/fc1/Gemm` becomes `fc1_Gemm`.
fn sanitize(name: &str) -> String {
    let s: String = name
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "node".into()
    } else {
        s
    }
}

/// A value while importing: computed by the graph (a batch), or known now (a constant).
#[derive(Clone)]
pub(crate) enum Value {
    /// A graph node with its per-sample shape.
    Node { node: Node, shape: Vec<usize> },
    /// A constant; `weight` when it came from an initializer (and so trains).
    Const { value: Const, weight: bool },
    /// A graph node (per-sample `shape`) whose ONNX tensor has its axes in another order:
    /// ONNX axis k is the node's axis `axes[k]`, 0 being the batch — a time-major sequence
    /// (steps, batch, features) is `[1, 0, 2]`. Only the ops of `moved.rs` and the recurrent
    /// ops read such values; they turn back into nodes once the batch is first again.
    Moved {
        node: Node,
        shape: Vec<usize>,
        axes: Vec<usize>,
    },
    /// A recurrent op's last state (its `Y_h`): the last step of `sequence` (per-sample
    /// (steps, units), in the order the op ran), made only if something reads it.
    LastState {
        sequence: Node,
        shape: Vec<usize>,
        time_major: bool,
    },
    /// An output Rill cannot compute (an LSTM's `Y_c`): an error if anything reads it.
    Refused(String),
    /// `ConstantOfShape` of a shape holding the batch size, filled with `value`: what PyTorch
    /// writes for a recurrent op's zero initial state; read by nothing else.
    Filled { value: f32 },
}

/// The batch size in folded shapes (`Shape` of a batch): known only when the model runs.
pub(crate) const BATCH: i64 = i64::MIN;

pub(crate) struct Importer<'a> {
    pub opset: i64,
    builder: FunctionalBuilder,
    pub(super) values: HashMap<String, Value>,
    initializers: HashMap<&'a str, &'a TensorProto>,
    graph: &'a GraphProto,
    /// Layer name → the values of its variables, set once the model is built.
    weights: Vec<(String, Vec<Tensor>)>,
    names: HashSet<String>,
    pub budget: Budget,
}

impl<'a> Importer<'a> {
    fn new(opset: i64, graph: &'a GraphProto, budget: Budget) -> Self {
        Importer {
            opset,
            builder: FunctionalBuilder::new(),
            values: HashMap::new(),
            initializers: graph
                .initializer
                .iter()
                .map(|t| (t.name.as_str(), t))
                .collect(),
            graph,
            weights: Vec::new(),
            names: HashSet::new(),
            budget,
        }
    }

    /// A constant as the f32 tensor a layer keeps, charged to the budget first.
    pub fn tensor(&self, c: &Const, what: &str) -> Result<Tensor> {
        self.budget.charge(what, c.len(), 4)?;
        Ok(match c {
            Const::F32 { .. } => c.to_tensor()?,
            Const::I64 { shape, .. } => Tensor::from_vec(c.floats(), shape)?,
        })
    }

    fn run(mut self, name: &str) -> Result<Model> {
        let mut inputs = Vec::new();
        for input in &self.graph.input {
            if self.initializers.contains_key(input.name.as_str()) {
                continue; // older exporters list weights among the inputs
            }
            let shape = input_shape(input)?;
            let rill_name = self.claim(&input.name);
            let node = self.builder.input_named(&rill_name, &shape)?;
            inputs.push(node);
            self.values
                .insert(input.name.clone(), Value::Node { node, shape });
        }
        for node in &self.graph.node {
            if !node.domain.is_empty() && node.domain != "ai.onnx" {
                return Err(unsupported(format!(
                    "node '{}': op {} of domain '{}' is not supported (only the default ONNX domain is)",
                    node.name, node.op_type, node.domain
                )));
            }
            let out = ops::convert(&mut self, node).map_err(|e| match e {
                Error::Unsupported(m) | Error::Invalid(m) if !m.starts_with("node ") => {
                    let wrapped = format!(
                        "node '{}' ({}, opset {}): {m}",
                        node.name, node.op_type, self.opset
                    );
                    if supported_ops().contains(&node.op_type.as_str()) {
                        Error::Invalid(wrapped)
                    } else {
                        Error::Unsupported(wrapped)
                    }
                }
                Error::Model(m) => Error::Invalid(format!(
                    "node '{}' ({}, opset {}): {m}",
                    node.name, node.op_type, self.opset
                )),
                other => other,
            })?;
            if let Some(first) = node.output.first() {
                self.values.insert(first.clone(), out);
            }
        }
        let mut outputs = Vec::new();
        for o in &self.graph.output {
            if !self.values.contains_key(&o.name) {
                return Err(invalid(format!(
                    "output '{}' is not computed by any node",
                    o.name
                )));
            }
            match self.value(&o.name)? {
                Value::Node { node, .. } => outputs.push(node),
                Value::Const { .. } => {
                    return Err(unsupported(format!("output '{}' is a constant; Rill models compute their outputs from their inputs", o.name)))
                }
                _ => {
                    return Err(unsupported(format!(
                        "output '{}' has its batch axis moved from the front (a time-major sequence); Rill models output batches",
                        o.name
                    )))
                }
            }
        }
        let model = self.builder.build(&inputs, &outputs)?.with_name(name);
        for (layer, values) in self.weights {
            let vars = model.layer(&layer)?.variables();
            for (v, t) in vars.iter().zip(values) {
                if v.shape() != t.shape() {
                    return Err(invalid(format!(
                        "layer '{layer}': weight '{}' has shape {:?} in the file, the layer needs {:?}",
                        v.name(),
                        t.shape(),
                        v.shape()
                    )));
                }
                v.assign(&t)?;
            }
        }
        Ok(model)
    }

    /// A layer or input name not used yet, made from an ONNX name.
    fn claim(&mut self, onnx_name: &str) -> String {
        let base = sanitize(onnx_name);
        let mut name = base.clone();
        let mut k = 1;
        while !self.names.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// A node's layer name: the graph output's name for a node computing one (so a model's
    /// outputs are called what the file calls them), else the node's name or op.
    fn node_name(&mut self, node: &NodeProto) -> String {
        let graph = self.graph;
        let output = node
            .output
            .first()
            .filter(|o| graph.output.iter().any(|g| &g.name == *o));
        let base = match output {
            Some(o) => o.as_str(),
            None if node.name.is_empty() => node.op_type.as_str(),
            None => node.name.as_str(),
        };
        self.claim(base)
    }

    /// The value named `name` (a node output, a graph input or an initializer).
    pub fn value(&mut self, name: &str) -> Result<Value> {
        match self.values.get(name) {
            Some(Value::LastState {
                sequence,
                shape,
                time_major,
            }) => {
                let (sequence, shape, time_major) = (*sequence, shape.clone(), *time_major);
                let v = recurrent::last_state(self, name, sequence, &shape, time_major)?;
                self.values.insert(name.to_string(), v.clone());
                return Ok(v);
            }
            Some(Value::Refused(why)) => return Err(unsupported(why.clone())),
            Some(v) => return Ok(v.clone()),
            None => {}
        }
        let t = self
            .initializers
            .get(name)
            .ok_or_else(|| invalid(format!("'{name}' is used before any node computes it")))?;
        let v = Value::Const {
            value: crate::tensors::read(t)?,
            weight: true,
        };
        self.values.insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// Adds a layer reading `x`, with the values its variables get once built.
    pub fn layer(
        &mut self,
        node: &NodeProto,
        layer: impl Layer,
        x: Node,
        in_shape: &[usize],
        weights: Vec<Tensor>,
    ) -> Result<Value> {
        self.layer_boxed(node, Box::new(layer), x, in_shape, weights)
    }

    /// [`Importer::layer`] for a boxed layer (one a layer's import pattern made).
    pub fn layer_boxed(
        &mut self,
        node: &NodeProto,
        layer: Box<dyn Layer>,
        x: Node,
        in_shape: &[usize],
        weights: Vec<Tensor>,
    ) -> Result<Value> {
        let shape = layer.compute_output_shape(in_shape)?;
        layers::bounded(layer.kind(), "an output", &shape)?;
        let name = self.node_name(node);
        let out = self.builder.layer_boxed(Some(&name), layer, x)?;
        if !weights.is_empty() {
            self.weights.push((name, weights));
        }
        Ok(Value::Node { node: out, shape })
    }

    /// Adds a layer of several values.
    pub fn merge(
        &mut self,
        node: &NodeProto,
        merge: Box<dyn Layer>,
        xs: &[(Node, Vec<usize>)],
    ) -> Result<Value> {
        self.layer_on(node, merge, xs, Vec::new())
    }

    /// Adds a layer reading several values (a recurrent layer and its initial states), with
    /// the values its variables get once built.
    pub fn layer_on(
        &mut self,
        node: &NodeProto,
        layer: Box<dyn Layer>,
        xs: &[(Node, Vec<usize>)],
        weights: Vec<Tensor>,
    ) -> Result<Value> {
        let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.1.clone()).collect();
        let shape = layer.output_shape_for(&shapes)?;
        layers::bounded(layer.kind(), "an output", &shape)?;
        let name = self.node_name(node);
        let nodes: Vec<Node> = xs.iter().map(|x| x.0).collect();
        let out = match nodes[..] {
            [one] => self.builder.layer_boxed(Some(&name), layer, one)?,
            _ => self.builder.merge_boxed(Some(&name), layer, &nodes)?,
        };
        if !weights.is_empty() {
            self.weights.push((name, weights));
        }
        Ok(Value::Node { node: out, shape })
    }
}

/// A graph input's per-sample shape: the first axis is the batch (any size); the others must
/// be fixed.
fn input_shape(input: &crate::proto::ValueInfoProto) -> Result<Vec<usize>> {
    let tensor = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| unsupported(format!("input '{}' is not a tensor", input.name)))?;
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .ok_or_else(|| {
            unsupported(format!(
                "input '{}' has no shape; Rill needs each sample's size",
                input.name
            ))
        })?;
    if dims.is_empty() {
        return Err(unsupported(format!(
            "input '{}' is a scalar; Rill inputs have a batch axis",
            input.name
        )));
    }
    dims[1..]
        .iter()
        .enumerate()
        .map(|(k, d)| match d.value {
            Some(DimensionValue::DimValue(v)) if v > 0 && v as usize <= rill_nn::layers::MAX_DIM => Ok(v as usize),
            _ => Err(unsupported(format!(
                "input '{}' has a dynamic or invalid size at axis {}; Rill needs fixed sizes after the batch axis",
                input.name,
                k + 1
            ))),
        })
        .collect()
}
