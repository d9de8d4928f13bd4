//! A read-only view of a model's graph, for code that translates models into other formats
//! (ONNX, Keras files) and must see every node, its parents and its shape.

use super::graph::Op;
use super::Model;
use crate::layers::Layer;
use crate::Result;
use std::sync::Arc;

/// What a graph node computes.
pub enum NodeOp<'a> {
    /// One of the model's inputs, and the dtype it takes (f32, or a string for raw text).
    Input(rill_core::DType),
    /// A layer applied to the node's parents (one, or several for a merge).
    Layer(&'a Arc<dyn Layer>),
}

/// One node of a built model's graph.
pub struct NodeView<'a> {
    /// Unique within the model.
    pub name: &'a str,
    /// What it computes.
    pub op: NodeOp<'a>,
    /// Positions of the nodes it reads, in [`Model::graph_view`]'s list.
    pub parents: &'a [usize],
    /// Per-sample output shape.
    pub shape: &'a [usize],
}

/// A built model's graph: nodes in topological order and which of them are the model's
/// inputs and outputs.
pub struct GraphView<'a> {
    /// Every node, each after the nodes it reads.
    pub nodes: Vec<NodeView<'a>>,
    /// Positions of the model's inputs, in the model's input order.
    pub inputs: &'a [usize],
    /// Positions of the model's outputs, in the model's output order.
    pub outputs: &'a [usize],
}

impl Model {
    /// The model's graph, node by node (an error when the model is not built yet).
    pub fn graph_view(&self) -> Result<GraphView<'_>> {
        let g = self.graph("graph_view")?;
        let nodes = g
            .nodes
            .iter()
            .map(|n| NodeView {
                name: &n.name,
                op: match &n.op {
                    Op::Input(d) => NodeOp::Input(*d),
                    Op::Layer(l) => NodeOp::Layer(l),
                },
                parents: &n.parents,
                shape: &n.shape,
            })
            .collect();
        Ok(GraphView {
            nodes,
            inputs: &g.inputs,
            outputs: &g.outputs,
        })
    }
}
