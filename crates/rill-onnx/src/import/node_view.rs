//! An ONNX node as the layers' import patterns see it ([`OnnxNode`]): the importer's view of
//! its attributes and inputs, constants charged to the import's budget.

use super::{Importer, Value};
use crate::attributes::Attributes;
use crate::proto::NodeProto;
use rill_core::Tensor;
use rill_nn::layers::OnnxNode;

/// A node, its attributes, and the values of its inputs (`None` for an empty input name).
pub(super) struct NodeView<'a> {
    pub node: &'a NodeProto,
    pub attrs: Attributes<'a>,
    pub inputs: &'a [Option<Value>],
    pub imp: &'a Importer<'a>,
}

fn nn(e: crate::Error) -> rill_nn::Error {
    rill_nn::Error::Config(e.to_string())
}

impl OnnxNode for NodeView<'_> {
    fn op(&self) -> &str {
        &self.node.op_type
    }
    fn opset(&self) -> i64 {
        self.imp.opset
    }
    fn int(&self, name: &str, default: i64) -> rill_nn::Result<i64> {
        self.attrs.int(name, default).map_err(nn)
    }
    fn float(&self, name: &str, default: f32) -> rill_nn::Result<f32> {
        self.attrs.float(name, default).map_err(nn)
    }
    fn ints(&self, name: &str) -> rill_nn::Result<Option<Vec<i64>>> {
        self.attrs.ints(name).map_err(nn)
    }
    fn string(&self, name: &str) -> rill_nn::Result<Option<String>> {
        self.attrs.string(name).map_err(nn)
    }
    fn floats(&self, name: &str) -> rill_nn::Result<Option<Vec<f32>>> {
        self.attrs.floats(name).map_err(nn)
    }
    fn strings(&self, name: &str) -> rill_nn::Result<Option<Vec<String>>> {
        self.attrs.strings(name).map_err(nn)
    }
    fn outputs_used(&self) -> usize {
        self.node.output.iter().filter(|o| !o.is_empty()).count()
    }
    fn computed(&self, i: usize) -> Option<Vec<usize>> {
        match self.inputs.get(i) {
            Some(Some(Value::Node { shape, .. })) => Some(shape.clone()),
            _ => None,
        }
    }
    fn constant(&self, i: usize) -> rill_nn::Result<Option<Tensor>> {
        match self.inputs.get(i) {
            Some(Some(Value::Const { value, .. })) => {
                let what = format!("input {i} of {}", self.node.op_type);
                self.imp.tensor(value, &what).map(Some).map_err(nn)
            }
            _ => Ok(None),
        }
    }
    fn constant_ints(&self, i: usize) -> rill_nn::Result<Option<Vec<i64>>> {
        match self.inputs.get(i) {
            Some(Some(Value::Const { value, .. })) => value
                .ints(&format!("input {i}"))
                .map(|v| Some(v.to_vec()))
                .map_err(nn),
            _ => Ok(None),
        }
    }
}
