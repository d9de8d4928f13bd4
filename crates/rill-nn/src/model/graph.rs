//! The graph every [`Model`] is: named nodes (inputs and layers, merges among them) in the
//! order they were added — which is a topological order, since a node can only use nodes that
//! already exist — and the functional API that builds one, shapes checked as it goes.

use super::fusion::{fuse, FusedCall};
use super::{unique_name, Model};
use crate::layers::Layer;
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use std::sync::Arc;

/// A handle to a value in a graph under construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node(pub(crate) usize);

/// What a node computes.
pub(crate) enum Op {
    /// One of the model's inputs, and the dtype it takes: f32 for numbers (integers and bytes
    /// are cast to it, as Keras casts to its `Input`'s dtype), [`DType::I64`] for integer ids
    /// (integers kept exact), [`DType::Str`] for raw text.
    Input(DType),
    /// A layer applied to its parents — one, or several for a merge (shared by handle: the
    /// same layer may sit in two models).
    Layer(Arc<dyn Layer>),
}

pub(crate) struct GraphNode {
    /// Unique within the model: the layer's name, or the input's.
    pub name: String,
    pub op: Op,
    pub parents: Vec<usize>,
    /// Per-sample output shape.
    pub shape: Vec<usize>,
}

/// A built graph from inputs to outputs.
pub(crate) struct Graph {
    pub nodes: Vec<GraphNode>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// For each node, the last node that reads it (to free values early), or `usize::MAX`
    /// for outputs and nodes that nothing needs.
    last_use: Vec<usize>,
    /// Whether a node is needed for some output.
    needed: Vec<bool>,
    /// The graph rewritten for running (`fusion.rs`): for a layer whose only reader fuses with
    /// it and whose own output is not a model output, that reader's node and the fused step.
    fused_reader: Vec<Option<(usize, FusedCall)>>,
}

impl Graph {
    pub fn new(nodes: Vec<GraphNode>, inputs: Vec<usize>, outputs: Vec<usize>) -> Result<Graph> {
        if inputs.is_empty() || outputs.is_empty() {
            return Err(Error::Config(
                "functional: a model needs at least one input and one output".into(),
            ));
        }
        for &i in &inputs {
            if !matches!(nodes.get(i).map(|n| &n.op), Some(Op::Input(_))) {
                return Err(Error::Config(format!(
                    "functional: node {i} is not an input"
                )));
            }
        }
        // However a graph was made (a file, the functional API, a stack of layers), no value in
        // it has more axes than tensors may: the rank of a crafted file would otherwise reach
        // every piece of code that works per axis.
        for node in &nodes {
            let kind = match &node.op {
                Op::Input(_) => "InputLayer",
                Op::Layer(l) => l.kind(),
            };
            crate::layers::check_rank(
                kind,
                &format!("the output of '{}'", node.name),
                &node.shape,
            )?;
        }
        let mut needed = vec![false; nodes.len()];
        let mut stack = outputs.clone();
        while let Some(n) = stack.pop() {
            let node = nodes.get(n).ok_or_else(|| {
                Error::Config(format!(
                    "functional: node {n} does not belong to this graph"
                ))
            })?;
            if std::mem::replace(&mut needed[n], true) {
                continue;
            }
            if matches!(node.op, Op::Input(_)) && !inputs.contains(&n) {
                return Err(Error::Config(format!("functional: the outputs depend on input '{}', which is not among the model's inputs", node.name)));
            }
            stack.extend(&node.parents);
        }
        let mut last_use = vec![0usize; nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            if needed[i] {
                for &p in &node.parents {
                    last_use[p] = i;
                }
            }
        }
        for &o in &outputs {
            last_use[o] = usize::MAX;
        }
        let fused_reader = fused_readers(&nodes, &needed, &outputs);
        Ok(Graph {
            nodes,
            inputs,
            outputs,
            last_use,
            needed,
            fused_reader,
        })
    }

    /// Runs the graph on a batch of each input (already checked against the input shapes).
    pub fn run(&self, inputs: &[Tensor], training: bool) -> Result<Vec<Tensor>> {
        Ok(self.run_masked(inputs, training)?.0)
    }

    /// [`Graph::run`], with the masks of the outputs (Keras' `_keras_mask`): a mask made by an
    /// `Embedding(mask_zero)` or `Masking` flows from layer to layer as each layer's
    /// [`Layer::output_mask`] says, and layers that honour it are called with it.
    pub fn run_masked(
        &self,
        inputs: &[Tensor],
        training: bool,
    ) -> Result<(Vec<Tensor>, Vec<Option<Tensor>>)> {
        let mut values: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        let mut masks: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        for (&i, x) in self.inputs.iter().zip(inputs) {
            values[i] = Some(x.clone());
        }
        for (n, node) in self.nodes.iter().enumerate() {
            if !self.needed[n] || values[n].is_some() {
                continue;
            }
            let arg = |k: usize| {
                values[node.parents[k]].as_ref().ok_or_else(|| {
                    Error::Config(format!("'{}': an input was not computed", node.name))
                })
            };
            let Op::Layer(l) = &node.op else {
                return Err(Error::Input(format!("input '{}' was not given", node.name)));
            };
            let in_layer = |e| match e {
                Error::Core(c) => {
                    Error::Input(format!("layer '{}' ({}): {c}", node.name, l.kind()))
                }
                other => other,
            };
            let mask = node.parents.first().and_then(|&p| masks[p].clone());
            let fused = match mask {
                // A fused pair would skip this layer's own mask rule.
                Some(_) => None,
                None => self.fused_reader[n].as_ref().and_then(|(r, fused)| {
                    let x = arg(0).ok()?;
                    Some((*r, fused(x, training)?))
                }),
            };
            if let Some((reader, out)) = fused {
                // The reader's value, computed here; the layer's own is never needed.
                values[reader] = Some(out.map_err(in_layer)?);
                self.release_parents(n, &mut values, &mut masks);
                continue;
            }
            // Without masks (nearly every model) no list is made per layer and call.
            let in_masks: Vec<Option<Tensor>> =
                match node.parents.iter().any(|&p| masks[p].is_some()) {
                    true => node.parents.iter().map(|&p| masks[p].clone()).collect(),
                    false => Vec::new(),
                };
            // One input (nearly every layer) without collecting a list per call.
            let (out, mask_out) = if node.parents.len() == 1 && mask.is_none() {
                let x = arg(0)?;
                let out = l.call(x, training).map_err(in_layer)?;
                let m = l
                    .output_mask(std::slice::from_ref(x), &in_masks)
                    .map_err(in_layer)?;
                (out, m)
            } else {
                let args = (0..node.parents.len())
                    .map(|k| arg(k).cloned())
                    .collect::<Result<Vec<_>>>()?;
                let out = match &mask {
                    Some(m) => l.call_masked(&args, m, training),
                    None => l.call_on(&args, training),
                }
                .map_err(in_layer)?;
                (out, l.output_mask(&args, &in_masks).map_err(in_layer)?)
            };
            self.release_parents(n, &mut values, &mut masks);
            values[n] = Some(out);
            masks[n] = mask_out;
        }
        let outputs = self
            .outputs
            .iter()
            .map(|&o| {
                values[o]
                    .clone()
                    .ok_or_else(|| Error::Config("an output was not computed".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let output_masks = self.outputs.iter().map(|&o| masks[o].clone()).collect();
        Ok((outputs, output_masks))
    }

    /// Drops the values nothing reads after node `n`, so a long chain keeps one or two
    /// activations alive in inference rather than all of them.
    fn release_parents(
        &self,
        n: usize,
        values: &mut [Option<Tensor>],
        masks: &mut [Option<Tensor>],
    ) {
        for &p in &self.nodes[n].parents {
            if self.last_use[p] == n {
                values[p] = None;
                masks[p] = None;
            }
        }
    }

    /// The layers, in graph order.
    pub fn layers(&self) -> impl Iterator<Item = (&str, &Arc<dyn Layer>)> {
        self.nodes.iter().filter_map(|n| match &n.op {
            Op::Layer(l) => Some((n.name.as_str(), l)),
            _ => None,
        })
    }
}

/// Builds a functional [`Model`]: declare inputs, apply layers to nodes, then pick the outputs
/// (Keras' `keras.Model(inputs, outputs)`).
///
/// ```
/// use rill_nn::prelude::*;
/// // A residual block: x + Dense(Dense(x)).
/// let mut g = FunctionalBuilder::new();
/// let x = g.input(&[16]);
/// let h = g.layer(Dense::new(16).activation(Activation::Relu), x)?;
/// let h = g.layer(Dense::new(16), h)?;
/// let sum = g.merge(Add, &[x, h])?;
/// let out = g.layer(Dense::new(3), sum)?;
/// let model = g.build(&[x], &[out])?;
/// assert_eq!(model.output_shapes(), vec![vec![3]]);
/// assert_eq!(model.count_params(), 2 * (16 * 16 + 16) + 16 * 3 + 3);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Default)]
pub struct FunctionalBuilder {
    nodes: Vec<GraphNode>,
}

impl FunctionalBuilder {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&self, n: Node) -> Result<&GraphNode> {
        self.nodes.get(n.0).ok_or_else(|| {
            Error::Config(format!(
                "functional: node {} does not belong to this graph",
                n.0
            ))
        })
    }

    fn take_name(&self, name: Option<&str>, kind: &str) -> Result<String> {
        match name {
            Some(n) if self.nodes.iter().any(|m| m.name == n) => Err(Error::Config(format!(
                "functional: the name '{n}' is already used in this model"
            ))),
            Some(n) => Ok(n.to_string()),
            None => Ok(unique_name(
                kind,
                self.nodes.iter().map(|n| n.name.as_str()),
            )),
        }
    }

    fn push(&mut self, name: String, op: Op, parents: Vec<usize>, shape: Vec<usize>) -> Node {
        self.nodes.push(GraphNode {
            name,
            op,
            parents,
            shape,
        });
        Node(self.nodes.len() - 1)
    }

    /// The name of the node `n` (its layer's or input's).
    pub fn name(&self, n: Node) -> Result<&str> {
        Ok(&self.check(n)?.name)
    }

    /// The per-sample shape of the value at `n`.
    pub fn shape(&self, n: Node) -> Result<&[usize]> {
        Ok(&self.check(n)?.shape)
    }

    /// Declares an input whose samples have `shape`, named `input_layer`, `input_layer_1`, …
    pub fn input(&mut self, shape: &[usize]) -> Node {
        let name = unique_name("InputLayer", self.nodes.iter().map(|n| n.name.as_str()));
        self.push(name, Op::Input(DType::F32), Vec::new(), shape.to_vec())
    }

    /// Declares a named input (the name clients use, e.g. in `rill serve`'s named requests).
    pub fn input_named(&mut self, name: &str, shape: &[usize]) -> Result<Node> {
        let name = self.take_name(Some(name), "InputLayer")?;
        Ok(self.push(name, Op::Input(DType::F32), Vec::new(), shape.to_vec()))
    }

    /// Declares an input of `dtype` (Keras' `Input(shape=…, dtype=…)`): [`DType::Str`] for raw
    /// text, for a model that starts with `TextVectorization`; [`DType::I64`] for integer ids
    /// (`IntegerLookup`, `CategoryEncoding`), which then reach the layer as integers rather than
    /// floats; f32 for numbers. `name` as in [`FunctionalBuilder::input_named`], or `None` for
    /// a generated one.
    pub fn input_of(&mut self, name: Option<&str>, shape: &[usize], dtype: DType) -> Result<Node> {
        if !matches!(dtype, DType::F32 | DType::Str | DType::I64) {
            return Err(Error::Config(format!(
                "functional: an input takes f32 numbers, i64 ids or text (string), not {dtype}"
            )));
        }
        let name = self.take_name(name, "InputLayer")?;
        Ok(self.push(name, Op::Input(dtype), Vec::new(), shape.to_vec()))
    }

    /// Applies `layer` to `x`, building it for `x`'s shape; named after its kind.
    pub fn layer(&mut self, layer: impl Layer, x: Node) -> Result<Node> {
        self.layer_boxed(None, Box::new(layer), x)
    }

    /// [`FunctionalBuilder::layer`] with the layer's name (unique within the model).
    pub fn layer_named(&mut self, name: &str, layer: impl Layer, x: Node) -> Result<Node> {
        self.layer_boxed(Some(name), Box::new(layer), x)
    }

    /// Applies a boxed layer to `x`, building it for `x`'s shape.
    pub fn layer_boxed(
        &mut self,
        name: Option<&str>,
        mut layer: Box<dyn Layer>,
        x: Node,
    ) -> Result<Node> {
        let shape = self.check(x)?.shape.clone();
        let name = self.take_name(name, layer.kind())?;
        let kind = layer.kind();
        let context = |e: Error| {
            Error::Config(format!(
                "layer '{name}' ({kind}) on input {}: {e}",
                crate::batch_shape(&shape)
            ))
        };
        let out = layer.compute_output_shape(&shape).map_err(context)?;
        layer.build(&shape).map_err(context)?;
        Ok(self.push(name, Op::Layer(Arc::from(layer)), vec![x.0], out))
    }

    /// Applies an already built layer — taken from another model with [`Model::layer`] — to
    /// `x`. Its weights are shared, not copied: training either model trains both (the
    /// transfer-learning recipe: take a trained model's layers, freeze them, add a new head).
    pub fn shared(&mut self, name: &str, layer: Arc<dyn Layer>, x: Node) -> Result<Node> {
        let shape = self.check(x)?.shape.clone();
        let name = self.take_name(Some(name), layer.kind())?;
        let out = layer
            .compute_output_shape(&shape)
            .map_err(|e| Error::Config(format!("layer '{name}' ({}): {e}", layer.kind())))?;
        Ok(self.push(name, Op::Layer(layer), vec![x.0], out))
    }

    /// Combines several nodes with a layer of several inputs (`Add`, `Concatenate`,
    /// `Multiply`), named after its kind.
    pub fn merge(&mut self, layer: impl Layer, xs: &[Node]) -> Result<Node> {
        self.merge_boxed(None, Box::new(layer), xs)
    }

    /// [`FunctionalBuilder::merge`] for a boxed layer, optionally named.
    pub fn merge_boxed(
        &mut self,
        name: Option<&str>,
        mut layer: Box<dyn Layer>,
        xs: &[Node],
    ) -> Result<Node> {
        let shapes = xs
            .iter()
            .map(|&n| Ok(self.check(n)?.shape.clone()))
            .collect::<Result<Vec<_>>>()?;
        let name = self.take_name(name, layer.kind())?;
        let kind = layer.kind();
        let context = |e: Error| Error::Config(format!("layer '{name}' ({kind}): {e}"));
        let shape = layer.output_shape_for(&shapes).map_err(context)?;
        layer.build_for(&shapes).map_err(context)?;
        Ok(self.push(
            name,
            Op::Layer(Arc::from(layer)),
            xs.iter().map(|n| n.0).collect(),
            shape,
        ))
    }

    /// The model from `inputs` to `outputs`. Every output must be reachable from the inputs
    /// alone, and every input must be declared with [`FunctionalBuilder::input`].
    pub fn build(self, inputs: &[Node], outputs: &[Node]) -> Result<Model> {
        let graph = Graph::new(
            self.nodes,
            inputs.iter().map(|n| n.0).collect(),
            outputs.iter().map(|n| n.0).collect(),
        )?;
        Ok(Model::from_graph("functional", false, graph))
    }
}

/// For each node, its only reader and the fused step when the two fuse (`fusion.rs`) and
/// the node's own output is not a model output.
fn fused_readers(
    nodes: &[GraphNode],
    needed: &[bool],
    outputs: &[usize],
) -> Vec<Option<(usize, FusedCall)>> {
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate().filter(|&(i, _)| needed[i]) {
        for &p in &node.parents {
            readers[p].push(i);
        }
    }
    (0..nodes.len())
        .map(|n| {
            let &[r] = readers[n].as_slice() else {
                return None;
            };
            if outputs.contains(&n) {
                return None;
            }
            let (Op::Layer(first), Op::Layer(second)) = (&nodes[n].op, &nodes[r].op) else {
                return None;
            };
            fuse(first, &**second).map(|f| (r, f))
        })
        .collect()
}
