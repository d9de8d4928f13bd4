//! A model's architecture as JSON (Keras' `get_config` / `from_config`) and its compile
//! settings (`training_config`). One format for every model: the graph's nodes in order, each
//! an input or a layer (kind, name, trainable, typed config), with its parents.
//! Files written before this format (a stack's `input_shape` + `layers`) still load.

use super::graph::{Graph, GraphNode, Op};
use super::Model;
use crate::layers::{from_config, serde_helpers::MAX_DIM};
use crate::{Error, Result};
use rill_core::DType;
use serde_json::{json, Value};
use std::sync::Arc;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Config(format!("model config: {what}"))
}

fn shape_of(v: &Value, what: &str) -> Result<Vec<usize>> {
    v.as_array()
        .ok_or_else(|| bad(format!("'{what}' must be a list of sizes")))?
        .iter()
        .map(|d| match d.as_u64() {
            Some(d) if d as usize <= MAX_DIM => Ok(d as usize),
            _ => Err(bad(format!(
                "'{what}' must hold sizes up to {MAX_DIM}, found {d}"
            ))),
        })
        .collect()
}

/// An input's dtype: f32 when the file names none (every file before text inputs), or one
/// Rill's inputs take.
fn input_dtype(v: &Value) -> Result<DType> {
    match v {
        Value::Null => Ok(DType::F32),
        Value::String(s) => match DType::from_name(s) {
            Some(d @ (DType::F32 | DType::Str | DType::I64)) => Ok(d),
            _ => Err(bad(format!(
                "an input's dtype must be f32, i64 or string, found '{s}'"
            ))),
        },
        other => Err(bad(format!(
            "an input's dtype must be a name, found {other}"
        ))),
    }
}

fn indices(v: &Value, what: &str, below: usize) -> Result<Vec<usize>> {
    v.as_array()
        .ok_or_else(|| bad(format!("'{what}' must be a list of node numbers")))?
        .iter()
        .map(|i| match i.as_u64() {
            Some(i) if (i as usize) < below => Ok(i as usize),
            _ => Err(bad(format!(
                "'{what}' names node {i}, which does not come before it"
            ))),
        })
        .collect()
}

impl Model {
    /// The architecture as JSON: kind, name, and every node (weights are not included).
    pub fn get_config(&self) -> Result<Value> {
        let g = self.graph("get_config")?;
        let nodes = g
            .nodes
            .iter()
            .map(|n| {
                Ok(match &n.op {
                    Op::Input(DType::F32) => json!({"op": "input", "name": n.name, "shape": n.shape}),
                    Op::Input(dtype) => json!({"op": "input", "name": n.name, "shape": n.shape, "dtype": dtype.name()}),
                    Op::Layer(l) => {
                        let config = l.config().ok_or_else(|| {
                            Error::Config(format!(
                                "layer '{}' ({}) cannot be saved: it does not implement Layer::config (see layers::Configurable)",
                                n.name,
                                l.kind()
                            ))
                        })?;
                        json!({"op": "layer", "class_name": l.kind(), "name": n.name,
                               "trainable": l.is_trainable(), "config": config, "parents": n.parents})
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({
            "class_name": if self.sequential { "Sequential" } else { "Functional" },
            "name": self.name,
            "nodes": nodes,
            "inputs": g.inputs,
            "outputs": g.outputs,
        }))
    }

    /// Rebuilds a model (built, with fresh weights) from [`Model::get_config`]. Every size is
    /// checked before anything is allocated.
    pub fn from_config(config: &Value) -> Result<Model> {
        if config.get("layers").is_some() {
            return Self::from_stack_config(config);
        }
        let list = config["nodes"]
            .as_array()
            .ok_or_else(|| bad("missing 'nodes'"))?;
        let mut nodes: Vec<GraphNode> = Vec::with_capacity(list.len());
        for (i, n) in list.iter().enumerate() {
            let parents = match n["op"].as_str() {
                Some("input") => Vec::new(),
                _ => indices(&n["parents"], "parents", i)?,
            };
            let kind = n["class_name"].as_str().unwrap_or("");
            // Older files kept the layer's name inside its config.
            let name = n["name"]
                .as_str()
                .or_else(|| n["config"]["name"].as_str())
                .map(String::from)
                .unwrap_or_else(|| {
                    super::unique_name(
                        if kind.is_empty() { "InputLayer" } else { kind },
                        nodes.iter().map(|m| m.name.as_str()),
                    )
                });
            if nodes.iter().any(|m| m.name == name) {
                return Err(bad(format!("two nodes are named '{name}'")));
            }
            let shapes: Vec<Vec<usize>> = parents.iter().map(|&p| nodes[p].shape.clone()).collect();
            let (op, shape) = match n["op"].as_str() {
                Some("input") => (
                    Op::Input(input_dtype(&n["dtype"])?),
                    shape_of(&n["shape"], "shape")?,
                ),
                // Files before merges were layers wrote them as "merge", without a config
                // when they had no arguments.
                Some(op @ ("layer" | "merge")) => {
                    if shapes.is_empty() {
                        return Err(bad(format!("layer '{name}' has no parent")));
                    }
                    let config = match &n["config"] {
                        Value::Null if op == "merge" => json!({}),
                        c => c.clone(),
                    };
                    let mut layer = from_config(kind, &config)
                        .map_err(|e| bad(format!("layer '{name}': {e}")))?;
                    let out = layer
                        .output_shape_for(&shapes)
                        .map_err(|e| bad(format!("layer '{name}': {e}")))?;
                    layer
                        .build_for(&shapes)
                        .map_err(|e| bad(format!("layer '{name}': {e}")))?;
                    if n["trainable"] == json!(false) {
                        layer.set_trainable(false);
                    }
                    (Op::Layer(Arc::from(layer)), out)
                }
                other => return Err(bad(format!("unknown node kind {other:?}"))),
            };
            // Every value a sample makes is bounded before a request can make the model allocate
            // it: a shape written in a file is not trusted.
            crate::layers::check_sample_values(kind, &format!("the output of '{name}'"), &shape)
                .map_err(|e| bad(e.to_string()))?;
            nodes.push(GraphNode {
                name,
                op,
                parents,
                shape,
            });
        }
        let count = nodes.len();
        let graph = Graph::new(
            nodes,
            indices(&config["inputs"], "inputs", count)?,
            indices(&config["outputs"], "outputs", count)?,
        )?;
        let sequential = config["class_name"] == "Sequential";
        let name = config["name"].as_str().unwrap_or(if sequential {
            "sequential"
        } else {
            "functional"
        });
        Ok(Model::from_graph(name, sequential, graph))
    }

    /// The stack format of files from before the graph format: `input_shape` and `layers`.
    fn from_stack_config(config: &Value) -> Result<Model> {
        let shape = shape_of(&config["input_shape"], "input_shape")?;
        let mut model = Model::new(Vec::new());
        for l in config["layers"]
            .as_array()
            .ok_or_else(|| bad("'layers' must be a list"))?
        {
            let kind = l["class_name"]
                .as_str()
                .ok_or_else(|| bad("a layer has no 'class_name'"))?;
            let layer = from_config(kind, &l["config"])?;
            model.add_boxed(l["config"]["name"].as_str(), layer)?;
        }
        if let Some(name) = config["name"].as_str() {
            model.name = name.to_string();
        }
        model.with_input_shape(&shape)
    }

    /// How the model was compiled — a loss and metrics per output, loss weights, the optimizer
    /// with its step count — as JSON, or `None` when it is not compiled. A metric is stored by
    /// its Keras name, or by its typed config when it has arguments
    /// ([`Metric::config`](crate::metrics::Metric::config)); a metric object that has neither
    /// is not recorded (compile the loaded model again to use it).
    pub fn training_config(&self) -> Result<Option<Value>> {
        let Some(c) = &self.compiled else {
            return Ok(None);
        };
        // A metric with arguments by its typed config; one of Keras' names by its name.
        let metrics: Vec<Vec<Value>> = c
            .metrics
            .iter()
            .zip(&c.losses)
            .map(|(ms, l)| {
                ms.iter()
                    .filter_map(|m| match m.config() {
                        Some(config) => Some(config),
                        None => crate::metrics::from_name(m.name(), l.accuracy_kind())
                            .is_ok()
                            .then(|| json!(m.name())),
                    })
                    .collect()
            })
            .collect();
        Ok(Some(json!({
            "losses": c.losses.iter().map(|l| l.config()).collect::<Vec<_>>(),
            "loss_weights": c.loss_weights,
            "metrics": metrics,
            "optimizer": c.optimizer.config()?,
        })))
    }

    /// Compiles the model from [`Model::training_config`] (optimizer state buffers start
    /// empty; restore them through [`Model::optimizer_mut`]). Reads the single-loss form of
    /// older files too.
    pub fn compile_from_config(&mut self, config: &Value) -> Result<()> {
        let optimizer = crate::optimizers::from_config(&config["optimizer"])?;
        let outputs = self.output_names();
        let loss_configs: Vec<Value> = match config["losses"].as_array() {
            Some(ls) => ls.clone(),
            None => vec![config["loss"].clone(); outputs.len()],
        };
        if loss_configs.len() != outputs.len() {
            return Err(bad(format!(
                "{} losses for {} outputs",
                loss_configs.len(),
                outputs.len()
            )));
        }
        let losses: Vec<Arc<dyn crate::losses::Loss>> = loss_configs
            .iter()
            .map(|c| crate::losses::from_config(c).map(Arc::from))
            .collect::<Result<Vec<_>>>()?;
        let loss_weights: Vec<f64> = match config["loss_weights"].as_array() {
            Some(w) => w.iter().map(|v| v.as_f64().unwrap_or(1.0)).collect(),
            None => vec![1.0; outputs.len()],
        };
        let listed = |v: &Value| -> Vec<Value> { v.as_array().cloned().unwrap_or_default() };
        let metric_lists: Vec<Vec<Value>> = match config["metrics"].as_array() {
            Some(a) if a.iter().all(Value::is_array) => a.iter().map(listed).collect(),
            _ => vec![listed(&config["metrics"]); outputs.len()],
        };
        let metrics = losses
            .iter()
            .zip(metric_lists.iter().chain(std::iter::repeat(&Vec::new())))
            .map(|(l, ms)| {
                ms.iter()
                    .map(|m| match m.as_str() {
                        Some(name) => crate::metrics::from_name(name, l.accuracy_kind()),
                        None => crate::saveable::new_metric(m),
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        self.compiled = Some(super::compile::Compiled {
            optimizer,
            losses,
            loss_weights: loss_weights
                .into_iter()
                .chain(std::iter::repeat(1.0))
                .take(outputs.len())
                .collect(),
            metrics,
        });
        Ok(())
    }
}
