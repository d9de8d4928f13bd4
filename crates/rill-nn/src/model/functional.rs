//! The functional API: a graph of layers from inputs to outputs, shapes inferred as it is built.

use crate::layers::{Layer, Merge};
use crate::{Error, Result, Variable};
use rill_core::Tensor;

/// A handle to a value in a graph under construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node(usize);

enum Op {
    Input,
    Layer(Box<dyn Layer>),
    Merge(Box<dyn Merge>, String),
}

struct GraphNode {
    op: Op,
    parents: Vec<usize>,
    /// Per-sample output shape.
    shape: Vec<usize>,
}

/// Builds a [`Functional`] model: declare inputs, apply layers to nodes, then pick the outputs.
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::Add;
/// // A residual block: x + Dense(Dense(x)).
/// let mut g = FunctionalBuilder::new();
/// let x = g.input(&[16]);
/// let h = g.layer(Dense::new(16).activation(Activation::Relu), x)?;
/// let h = g.layer(Dense::new(16), h)?;
/// let sum = g.merge(Add, &[x, h])?;
/// let out = g.layer(Dense::new(3), sum)?;
/// let block = g.build(&[x], &[out])?;
/// assert_eq!(block.output_shapes(), vec![vec![3]]);
/// // A functional model is a layer: Sequential trains it like any other.
/// let mut model = Sequential::new(vec![Box::new(block)]).with_input_shape(&[16])?;
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

    fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match &n.op {
            Op::Layer(l) => Some(l.name()),
            Op::Merge(_, name) => Some(name.as_str()),
            Op::Input => None,
        })
    }

    fn unique_name(&self, kind: &str) -> String {
        crate::model::unique_name(kind, self.names())
    }

    fn check(&self, n: Node) -> Result<&GraphNode> {
        self.nodes.get(n.0).ok_or_else(|| {
            Error::Config(format!(
                "functional: node {} does not belong to this graph",
                n.0
            ))
        })
    }

    /// Declares an input whose samples have `shape`.
    pub fn input(&mut self, shape: &[usize]) -> Node {
        self.nodes.push(GraphNode {
            op: Op::Input,
            parents: Vec::new(),
            shape: shape.to_vec(),
        });
        Node(self.nodes.len() - 1)
    }

    /// Applies `layer` to `x`, building it for `x`'s shape.
    pub fn layer(&mut self, layer: impl Layer + 'static, x: Node) -> Result<Node> {
        self.layer_boxed(Box::new(layer), x)
    }

    /// [`FunctionalBuilder::layer`] for a boxed layer.
    pub fn layer_boxed(&mut self, mut layer: Box<dyn Layer>, x: Node) -> Result<Node> {
        let shape = self.check(x)?.shape.clone();
        if layer.name().is_empty() {
            layer.set_name(self.unique_name(layer.kind()));
        }
        let out = layer.build(&shape).map_err(|e| {
            Error::Config(format!(
                "layer '{}' ({}) on input {}: {e}",
                layer.name(),
                layer.kind(),
                crate::batch_shape(&shape)
            ))
        })?;
        self.nodes.push(GraphNode {
            op: Op::Layer(layer),
            parents: vec![x.0],
            shape: out,
        });
        Ok(Node(self.nodes.len() - 1))
    }

    /// Combines several nodes with a merge layer (`Add`, `Concatenate`, `Multiply`).
    pub fn merge(&mut self, merge: impl Merge + 'static, xs: &[Node]) -> Result<Node> {
        self.merge_boxed(Box::new(merge), xs)
    }

    /// [`FunctionalBuilder::merge`] for a boxed merge layer.
    pub fn merge_boxed(&mut self, merge: Box<dyn Merge>, xs: &[Node]) -> Result<Node> {
        let shapes = xs
            .iter()
            .map(|&n| Ok(self.check(n)?.shape.clone()))
            .collect::<Result<Vec<_>>>()?;
        let shape = merge.output_shape(&shapes)?;
        let name = self.unique_name(merge.kind());
        self.nodes.push(GraphNode {
            op: Op::Merge(merge, name),
            parents: xs.iter().map(|n| n.0).collect(),
            shape,
        });
        Ok(Node(self.nodes.len() - 1))
    }

    /// The model from `inputs` to `outputs`. Every output must be reachable from the inputs
    /// alone, and every input must be declared with [`FunctionalBuilder::input`].
    pub fn build(self, inputs: &[Node], outputs: &[Node]) -> Result<Functional> {
        if inputs.is_empty() || outputs.is_empty() {
            return Err(Error::Config(
                "functional: a model needs at least one input and one output".into(),
            ));
        }
        for &i in inputs {
            if !matches!(self.check(i)?.op, Op::Input) {
                return Err(Error::Config(format!(
                    "functional: node {} is not an input",
                    i.0
                )));
            }
        }
        // Every input a needed node depends on must be among the model's inputs.
        let mut needed = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = outputs
            .iter()
            .map(|n| self.check(*n).map(|_| n.0))
            .collect::<Result<_>>()?;
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut needed[n], true) {
                continue;
            }
            if matches!(self.nodes[n].op, Op::Input) && !inputs.contains(&Node(n)) {
                return Err(Error::Config(format!("functional: the outputs depend on input node {n}, which is not among the model's inputs")));
            }
            stack.extend(&self.nodes[n].parents);
        }
        Ok(Functional {
            name: String::new(),
            nodes: self.nodes,
            inputs: inputs.iter().map(|n| n.0).collect(),
            outputs: outputs.iter().map(|n| n.0).collect(),
            needed,
        })
    }
}

/// A graph of layers from one or more inputs to one or more outputs. It is itself a
/// [`Layer`] (for one input and one output), so [`Sequential`](crate::Sequential) trains,
/// evaluates and predicts with it.
pub struct Functional {
    name: String,
    nodes: Vec<GraphNode>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    needed: Vec<bool>,
}

impl Functional {
    /// Per-sample shapes of the inputs.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs
            .iter()
            .map(|&i| self.nodes[i].shape.clone())
            .collect()
    }
    /// Per-sample shapes of the outputs.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.outputs
            .iter()
            .map(|&i| self.nodes[i].shape.clone())
            .collect()
    }

    /// Runs the graph on a batch of each input; returns a batch of each output.
    pub fn call_many(&mut self, inputs: &[Tensor], training: bool) -> Result<Vec<Tensor>> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::Input(format!(
                "functional: expected {} inputs, found {}",
                self.inputs.len(),
                inputs.len()
            )));
        }
        let mut values: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        for (k, (&i, x)) in self.inputs.iter().zip(inputs).enumerate() {
            if x.shape().get(1..) != Some(&self.nodes[i].shape[..]) {
                return Err(Error::Input(format!(
                    "functional: input {k} expects shape {}, found {:?}",
                    crate::batch_shape(&self.nodes[i].shape),
                    x.shape()
                )));
            }
            values[i] = Some(x.clone());
        }
        for n in 0..self.nodes.len() {
            if !self.needed[n] || values[n].is_some() {
                continue;
            }
            let args: Vec<Tensor> = self.nodes[n]
                .parents
                .iter()
                .map(|&p| values[p].clone().expect("parents come first"))
                .collect();
            let out = match &mut self.nodes[n].op {
                Op::Input => unreachable!("every needed input is given"),
                Op::Layer(l) => {
                    let (name, kind) = (l.name().to_string(), l.kind());
                    l.call(&args[0], training).map_err(|e| match e {
                        Error::Core(c) => Error::Input(format!("layer '{name}' ({kind}): {c}")),
                        other => other,
                    })?
                }
                Op::Merge(m, _) => m.call(&args)?,
            };
            values[n] = Some(out);
        }
        Ok(self
            .outputs
            .iter()
            .map(|&o| values[o].clone().expect("outputs are computed"))
            .collect())
    }

    /// Keras' functional summary: each layer with its output shape, parameters and inputs.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{:<28} {:<20} {:>10}  Connected to\n",
            "Layer (type)", "Output Shape", "Param #"
        );
        let name_of = |n: usize| match &self.nodes[n].op {
            Op::Input => format!("input_{n}"),
            Op::Layer(l) => l.name().to_string(),
            Op::Merge(_, name) => name.clone(),
        };
        for (i, node) in self.nodes.iter().enumerate() {
            let (label, params) = match &node.op {
                Op::Input => (format!("{} (InputLayer)", name_of(i)), 0),
                Op::Layer(l) => (
                    format!("{} ({})", l.name(), l.kind()),
                    l.variables().iter().map(|v| v.numel()).sum(),
                ),
                Op::Merge(m, name) => (format!("{name} ({})", m.kind()), 0),
            };
            let parents: Vec<String> = node.parents.iter().map(|&p| name_of(p)).collect();
            s += &format!(
                "{label:<28} {:<20} {params:>10}  {}\n",
                crate::batch_shape(&node.shape),
                parents.join(", ")
            );
        }
        s
    }

    fn layers(&self) -> impl Iterator<Item = &Box<dyn Layer>> {
        self.nodes.iter().filter_map(|n| match &n.op {
            Op::Layer(l) => Some(l),
            _ => None,
        })
    }
}

impl Layer for Functional {
    fn kind(&self) -> &'static str {
        "Functional"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if self.inputs.len() != 1 || self.outputs.len() != 1 {
            return Err(Error::Config(format!(
                "{}: a functional model with {} inputs and {} outputs cannot be used as a single layer; call it with call_many",
                self.name,
                self.inputs.len(),
                self.outputs.len()
            )));
        }
        let declared = &self.nodes[self.inputs[0]].shape;
        if declared.as_slice() != input_shape {
            return Err(Error::Input(format!(
                "{}: built for inputs {}, found {}",
                self.name,
                crate::batch_shape(declared),
                crate::batch_shape(input_shape)
            )));
        }
        Ok(self.nodes[self.outputs[0]].shape.clone())
    }
    fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        Ok(self.call_many(std::slice::from_ref(x), training)?.remove(0))
    }
    fn variables(&self) -> Vec<&Variable> {
        self.layers().flat_map(|l| l.variables()).collect()
    }
    fn variable_names(&self) -> Vec<String> {
        self.layers()
            .flat_map(|l| {
                l.variable_names()
                    .into_iter()
                    .map(move |n| format!("{}/{n}", l.name()))
            })
            .collect()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.nodes
            .iter_mut()
            .filter_map(|n| match &mut n.op {
                Op::Layer(l) => Some(l),
                _ => None,
            })
            .flat_map(|l| l.variables_mut())
            .collect()
    }
    fn config(&self) -> Option<serde_json::Value> {
        let nodes = self
            .nodes
            .iter()
            .map(|n| {
                Some(match &n.op {
                    Op::Input => serde_json::json!({"op": "input", "shape": n.shape}),
                    Op::Layer(l) => serde_json::json!({"op": "layer", "class_name": l.kind(), "config": l.config()?, "parents": n.parents}),
                    Op::Merge(m, name) => serde_json::json!({"op": "merge", "class_name": m.kind(), "name": name, "parents": n.parents}),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(
            serde_json::json!({"name": self.name, "nodes": nodes, "inputs": self.inputs, "outputs": self.outputs}),
        )
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for l in self.layers() {
            if let Some(p) = l.regularization_loss()? {
                total = Some(match total {
                    Some(t) => t.add(&p)?,
                    None => p,
                });
            }
        }
        Ok(total)
    }
}

impl Functional {
    /// Rebuilds a graph (with fresh weights) from its [`Layer::config`].
    pub fn from_config(c: &serde_json::Value) -> Result<Functional> {
        let bad = |m: &str| Error::Config(format!("Functional config: {m}"));
        let ids = |v: &serde_json::Value| -> Result<Vec<usize>> {
            v.as_array()
                .ok_or_else(|| bad("expected a list of node numbers"))?
                .iter()
                .map(|i| {
                    i.as_u64()
                        .map(|i| i as usize)
                        .ok_or_else(|| bad("node numbers must be integers"))
                })
                .collect()
        };
        let mut g = FunctionalBuilder::new();
        let mut handles: Vec<Node> = Vec::new();
        for n in c["nodes"]
            .as_array()
            .ok_or_else(|| bad("missing 'nodes'"))?
        {
            let parents: Vec<Node> = if n["op"] == "input" {
                Vec::new()
            } else {
                ids(&n["parents"])?
                    .into_iter()
                    .map(|p| {
                        handles
                            .get(p)
                            .copied()
                            .ok_or_else(|| bad("a node refers to a later node"))
                    })
                    .collect::<Result<_>>()?
            };
            let kind = n["class_name"].as_str().unwrap_or("");
            let h = match n["op"].as_str() {
                Some("input") => g.input(&ids(&n["shape"])?),
                Some("layer") => {
                    let layer = crate::layers::from_config(kind, &n["config"])?;
                    g.layer_boxed(
                        layer,
                        *parents
                            .first()
                            .ok_or_else(|| bad("a layer node has no parent"))?,
                    )?
                }
                Some("merge") => {
                    let m: Box<dyn Merge> = match kind {
                        "Add" => Box::new(crate::layers::Add),
                        "Multiply" => Box::new(crate::layers::Multiply),
                        "Concatenate" => Box::new(crate::layers::Concatenate),
                        other => return Err(bad(&format!("unknown merge layer '{other}'"))),
                    };
                    g.merge_boxed(m, &parents)?
                }
                other => return Err(bad(&format!("unknown node kind {other:?}"))),
            };
            handles.push(h);
        }
        let pick = |v: &serde_json::Value| -> Result<Vec<Node>> {
            ids(v)?
                .into_iter()
                .map(|i| {
                    handles
                        .get(i)
                        .copied()
                        .ok_or_else(|| bad("an input or output names no node"))
                })
                .collect()
        };
        let mut f = g.build(&pick(&c["inputs"])?, &pick(&c["outputs"])?)?;
        if let Some(name) = c["name"].as_str() {
            f.name = name.to_string();
        }
        Ok(f)
    }
}
