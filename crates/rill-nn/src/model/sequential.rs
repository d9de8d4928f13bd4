//! Building a [`Model`] from a stack of layers (Keras' `Sequential`): the layers wait until the
//! input shape is known, then become a chain in the model's graph.

use super::graph::{Graph, GraphNode, Op};
use super::{unique_name, Model};
use crate::layers::Layer;
use crate::{Error, Result};
use std::sync::Arc;

impl Model {
    /// A sequential model from a stack of layers, each feeding the next — what `Sequential::new`
    /// makes. Unbuilt until its input shape is known ([`Model::with_input_shape`], or the
    /// first `fit`).
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Model {
        Model {
            name: "sequential".into(),
            sequential: true,
            graph: None,
            pending: layers.into_iter().map(|l| (None, l)).collect(),
            compiled: None,
            stop_training: false,
            resume_epoch: None,
        }
    }

    /// Appends a layer to a sequential model (built or not), named after its kind.
    pub fn add(&mut self, layer: impl Layer) -> Result<()> {
        self.add_boxed(None, Box::new(layer))
    }

    /// Appends a named layer (unique within the model) to a sequential model.
    pub fn add_named(&mut self, name: &str, layer: impl Layer) -> Result<()> {
        self.add_boxed(Some(name), Box::new(layer))
    }

    /// Appends a boxed layer to a sequential model; on a built model it is built at once for
    /// the current output (e.g. a Softmax on a trained model, for probabilities).
    pub fn add_boxed(&mut self, name: Option<&str>, layer: Box<dyn Layer>) -> Result<()> {
        if !self.sequential {
            return Err(Error::Config(format!(
                "add: '{}' is a functional model; add layers with FunctionalBuilder",
                self.name
            )));
        }
        let Some(graph) = self.graph.as_mut() else {
            self.pending.push((name.map(String::from), layer));
            return Ok(());
        };
        let mut nodes = std::mem::take(&mut graph.nodes);
        // The first layer of a stack built before its layers (an `Input` first) says what the
        // input takes, as when the stack is built with its layers.
        let first_takes = (nodes.len() == 1).then(|| layer.input_dtype()).flatten();
        // A layer that does not fit leaves the model as it was: nothing is pushed on error.
        if let Err(e) = append_layer(&mut nodes, name, layer) {
            graph.nodes = nodes;
            return Err(e);
        }
        if let Some(dtype) = first_takes {
            nodes[0].op = Op::Input(dtype);
        }
        let inputs = graph.inputs.clone();
        let output = nodes.len() - 1;
        *graph = Graph::new(nodes, inputs, vec![output])?;
        Ok(())
    }

    /// Declares the per-sample input shape (Keras' `Input(shape=...)`) and builds every layer.
    pub fn with_input_shape(mut self, shape: &[usize]) -> Result<Self> {
        self.build(shape)?;
        Ok(self)
    }

    /// Builds a sequential model's layers for per-sample inputs of `shape`. A built model stays
    /// built; asking for another shape is an error.
    pub fn build(&mut self, shape: &[usize]) -> Result<()> {
        if let Some(g) = &self.graph {
            let have = &g.nodes[g.inputs[0]].shape;
            if g.inputs.len() != 1 || have.as_slice() != shape {
                return Err(Error::Input(format!(
                    "{}: built for inputs {}, asked to build for {}",
                    self.name,
                    crate::error::batch_shape(have),
                    crate::error::batch_shape(shape)
                )));
            }
            return Ok(());
        }
        // A stack that starts with a layer reading text (TextVectorization) takes text, as a
        // Keras Sequential built on its first call with strings does.
        let dtype = match self.pending.first() {
            Some((_, first)) => first.input_dtype().unwrap_or(rill_core::DType::F32),
            None => rill_core::DType::F32,
        };
        let mut nodes = vec![GraphNode {
            name: "input_layer".into(),
            op: Op::Input(dtype),
            parents: Vec::new(),
            shape: shape.to_vec(),
        }];
        for (name, layer) in std::mem::take(&mut self.pending) {
            append_layer(&mut nodes, name.as_deref(), layer)?;
        }
        let output = nodes.len() - 1;
        self.graph = Some(Graph::new(nodes, vec![0], vec![output])?);
        Ok(())
    }
}

/// Builds `layer` for the output of the last of `nodes` (a chain) and appends it, named
/// `name` or after its kind; errors say which layer on which input.
fn append_layer(
    nodes: &mut Vec<GraphNode>,
    name: Option<&str>,
    mut layer: Box<dyn Layer>,
) -> Result<()> {
    let parent = nodes.len() - 1;
    let current = nodes[parent].shape.clone();
    let name = free_name(nodes.iter().map(|n| n.name.as_str()), name, layer.kind())?;
    let kind = layer.kind();
    let context = |e: Error| {
        Error::Config(format!(
            "layer '{name}' ({kind}) on input {}: {e}",
            crate::batch_shape(&current)
        ))
    };
    let out = layer.compute_output_shape(&current).map_err(context)?;
    layer.build(&current).map_err(context)?;
    nodes.push(GraphNode {
        name,
        op: Op::Layer(Arc::from(layer)),
        parents: vec![parent],
        shape: out,
    });
    Ok(())
}

/// `wanted` if free among `taken`, else an error; Keras' next free name for `kind` if none.
fn free_name<'a>(
    taken: impl Iterator<Item = &'a str> + Clone,
    wanted: Option<&str>,
    kind: &str,
) -> Result<String> {
    match wanted {
        Some(n) if taken.clone().any(|t| t == n) => Err(Error::Config(format!(
            "the name '{n}' is already used in this model"
        ))),
        Some(n) => Ok(n.to_string()),
        None => Ok(unique_name(kind, taken)),
    }
}
