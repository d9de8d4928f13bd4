//! Rill model → ONNX (opset 17, IR version 8). Every node of the model's graph becomes one or
//! a few ONNX nodes; values keep Rill's channels-last layout, and the channels-first ops (Conv,
//! pooling, BatchNormalization) are wrapped in Transposes. A value that already exists in
//! channels-first form is reused, and nodes nothing reads are dropped at the end, so a stack of
//! convolutions transposes once on the way in and once on the way out.

use crate::attributes::ints;
use crate::error::{invalid, Error, Result};
use crate::proto::*;
use crate::tensors::{write_f32, write_floats, write_i64};
use rill_nn::{GraphView, Model, NodeOp};
use std::collections::{HashMap, HashSet};
use std::path::Path;

mod layers;

/// The operator set exported files use.
pub const OPSET: i64 = 17;
/// The IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 8;

/// What goes into an exported file besides the model.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Class names, stored as JSON in the model's metadata under `class_names`.
    pub class_names: Option<Vec<String>>,
}

/// The model as an ONNX `ModelProto`, with a dynamic batch dimension named `batch`.
pub fn to_onnx(model: &Model, options: &ExportOptions) -> Result<ModelProto> {
    // The importer's own layers find their ONNX forms in the registry once registered; a model
    // saved after importing may be exported by a program that has imported nothing.
    crate::import::register_layers();
    let view = model.graph_view()?;
    let mut ex = Exporter::default();
    let inputs: Vec<String> = view
        .inputs
        .iter()
        .map(|&i| ex.claim(view.nodes[i].name))
        .collect();
    let outputs = ex.graph(&view, &inputs, "")?;
    let mut graph_outputs = Vec::new();
    for (&o, tensor) in view.outputs.iter().zip(outputs) {
        let node = &view.nodes[o];
        let wanted = node.name.to_string();
        if tensor != wanted {
            // An output that is another value under a new name (a Dropout at the end).
            ex.emit("Identity", vec![tensor], wanted.clone(), vec![]);
        }
        graph_outputs.push(value_info(&wanted, node.shape));
    }
    let graph_inputs = view
        .inputs
        .iter()
        .map(|&i| value_info(view.nodes[i].name, view.nodes[i].shape))
        .collect();
    let (node, initializer) = ex.prune(&graph_outputs);
    let mut metadata_props = Vec::new();
    if let Some(names) = &options.class_names {
        metadata_props.push(StringStringEntryProto {
            key: "class_names".into(),
            value: serde_json::to_string(names).expect("strings serialise"),
        });
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "rill".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            node,
            name: model.name().to_string(),
            initializer,
            input: graph_inputs,
            output: graph_outputs,
            ..Default::default()
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props,
        ..Default::default()
    })
}

/// Writes the model as an ONNX file ([`rill_io::write_atomically`]: a failed write never leaves
/// half a file under `path`).
pub fn export(model: &Model, path: impl AsRef<Path>, options: &ExportOptions) -> Result<()> {
    use prost::Message;
    let path = path.as_ref();
    let bytes = to_onnx(model, options)?.encode_to_vec();
    rill_io::write_atomically(path, &bytes).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// `model.save_onnx(path)`: [`export`] as a method of [`Model`].
pub trait SaveOnnx {
    /// Writes the model as an ONNX file (opset 17).
    fn save_onnx(&self, path: impl AsRef<Path>) -> Result<()>;
}

impl SaveOnnx for Model {
    fn save_onnx(&self, path: impl AsRef<Path>) -> Result<()> {
        export(self, path, &ExportOptions::default())
    }
}

fn value_info(name: &str, per_sample: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(DimensionValue::DimParam("batch".into())),
        ..Default::default()
    };
    let dims = per_sample.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d as i64)),
        ..Default::default()
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(dims).collect(),
                }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// NHWC → NCHW and back.
const TO_NCHW: [i64; 4] = [0, 3, 1, 2];
const TO_NHWC: [i64; 4] = [0, 2, 3, 1];

#[derive(Default)]
struct Exporter {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    used: HashSet<String>,
    /// A channels-last value → the name of the same value in channels-first layout.
    nchw: HashMap<String, String>,
}

impl Exporter {
    /// A tensor name not used yet, `base` if free.
    fn claim(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while !self.used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    fn emit(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        output: String,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            name: output.clone(),
            op_type: op.into(),
            input: inputs,
            output: vec![output.clone()],
            attribute,
            ..Default::default()
        });
        output
    }

    /// Emits `op` to a fresh tensor named after `base`.
    fn op(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        base: &str,
        attribute: Vec<AttributeProto>,
    ) -> String {
        let out = self.claim(base);
        self.emit(op, inputs, out, attribute)
    }

    fn weight(&mut self, base: &str, t: &rill_core::Tensor) -> Result<String> {
        let name = self.claim(base);
        self.initializers.push(write_f32(&name, t)?);
        Ok(name)
    }

    fn scalar(&mut self, base: &str, v: f32) -> String {
        let name = self.claim(base);
        self.initializers.push(write_floats(&name, &[], &[v]));
        name
    }

    fn int64s(&mut self, base: &str, v: &[i64]) -> String {
        let name = self.claim(base);
        self.initializers.push(write_i64(&name, v));
        name
    }

    /// The channels-first form of a channels-last value of rank 4.
    fn channels_first(&mut self, x: &str) -> String {
        if let Some(y) = self.nchw.get(x) {
            return y.clone();
        }
        let y = self.op(
            "Transpose",
            vec![x.into()],
            &format!("{x}/nchw"),
            vec![ints("perm", &TO_NCHW)],
        );
        self.nchw.insert(x.into(), y.clone());
        y
    }

    /// `y` (channels-first) back in channels-last as `out`, remembering both forms.
    fn back_to_channels_last(&mut self, y: String, out: String) -> String {
        let out = self.emit(
            "Transpose",
            vec![y.clone()],
            out,
            vec![ints("perm", &TO_NHWC)],
        );
        self.nchw.insert(out.clone(), y);
        out
    }

    /// Exports a graph whose inputs are the tensors `inputs`; returns its outputs' tensors.
    /// `prefix` keeps the names of a nested model's nodes apart from the outer model's.
    fn graph(&mut self, view: &GraphView, inputs: &[String], prefix: &str) -> Result<Vec<String>> {
        let mut tensors: Vec<Option<String>> = vec![None; view.nodes.len()];
        for (&i, t) in view.inputs.iter().zip(inputs) {
            tensors[i] = Some(t.clone());
        }
        for (n, node) in view.nodes.iter().enumerate() {
            if tensors[n].is_some() {
                continue;
            }
            let args: Vec<String> = node
                .parents
                .iter()
                .map(|&p| {
                    tensors[p]
                        .clone()
                        .ok_or_else(|| invalid(format!("'{}' reads an unknown value", node.name)))
                })
                .collect::<Result<_>>()?;
            let name = format!("{prefix}{}", node.name);
            let out = match &node.op {
                NodeOp::Input(_) => {
                    return Err(invalid(format!(
                        "input '{}' is not one of the model's inputs",
                        node.name
                    )))
                }
                NodeOp::Layer(layer) => {
                    let shapes: Vec<&[usize]> =
                        node.parents.iter().map(|&p| view.nodes[p].shape).collect();
                    self.layer(&name, layer.as_ref(), args, &shapes)?
                }
            };
            tensors[n] = Some(out);
        }
        view.outputs
            .iter()
            .map(|&o| {
                tensors[o]
                    .clone()
                    .ok_or_else(|| invalid("an output was not computed"))
            })
            .collect()
    }

    /// Drops the nodes and initializers that no output needs.
    fn prune(self, outputs: &[ValueInfoProto]) -> (Vec<NodeProto>, Vec<TensorProto>) {
        let mut needed: HashSet<String> = outputs.iter().map(|o| o.name.clone()).collect();
        let mut keep = vec![false; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate().rev() {
            if n.output.iter().any(|o| needed.contains(o)) {
                keep[i] = true;
                needed.extend(n.input.iter().cloned());
            }
        }
        let nodes = self
            .nodes
            .into_iter()
            .zip(keep)
            .filter_map(|(n, k)| k.then_some(n))
            .collect();
        let inits = self
            .initializers
            .into_iter()
            .filter(|t| needed.contains(&t.name))
            .collect();
        (nodes, inits)
    }
}
