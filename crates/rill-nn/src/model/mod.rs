//! [`Model`]: one type for every model. Its general form is a graph of layers from named inputs
//! to named outputs ([`FunctionalBuilder`]); [`Sequential`] is the same type built from a stack
//! of layers, as in Keras, where `Sequential` is a `Functional`. The trainer (`compile`, `fit`,
//! `evaluate`, `predict`) serves every model alike and lives apart from the layers.
//!
//! Where things live: the graph and the functional API in `graph.rs`; stacks of layers in
//! `sequential.rs`; weights and layer access in `weights.rs`; `compile` and its per-output
//! losses and metrics in `compile.rs`; the loops in `training.rs`; configs in `config.rs`; a
//! model used as a layer inside another in `as_layer.rs`.

mod as_layer;
mod batches;
mod compile;
mod config;
mod fit_config;
mod fusion;
mod graph;
mod history;
mod progress;
mod sequential;
mod summary;
mod training;
mod view;
mod weights;

pub use compile::{Losses, Metrics};
pub use fit_config::FitConfig;
pub use graph::{FunctionalBuilder, Node};
pub use history::{History, Logs};
pub use progress::{set_progress_output, ProgressOutput, Verbosity};
pub use view::{GraphView, NodeOp, NodeView};

use crate::layers::Layer;
use crate::{Error, Result};
use compile::Compiled;
use graph::Graph;
use rill_core::DType;

/// `Sequential` is a [`Model`] built from a stack of layers (`Sequential::new(layers)`), as in
/// Keras; everything a model does, it does.
pub type Sequential = Model;

/// A model: layers wired from inputs to outputs, with the trainer on top.
///
/// ```
/// use rill_nn::prelude::*;
/// let model = Sequential::new(vec![
///     Box::new(Flatten::new()),
///     Box::new(Dense::new(128).activation(Activation::Relu)),
///     Box::new(Dense::new(10)),
/// ])
/// .with_input_shape(&[28, 28])?;
/// assert_eq!(model.count_params(), 101_770);
/// # Ok::<(), rill_nn::Error>(())
/// ```
pub struct Model {
    pub(crate) name: String,
    /// Built from a stack of layers (saved and summarised as Keras' `Sequential`).
    pub(crate) sequential: bool,
    /// The graph, once the input shape is known.
    pub(crate) graph: Option<Graph>,
    /// A stack's layers before its input shape is known (then moved into the graph).
    pub(crate) pending: Vec<(Option<String>, Box<dyn Layer>)>,
    pub(crate) compiled: Option<Compiled>,
    /// Set by a callback to end `fit` after the current epoch.
    pub stop_training: bool,
    /// Set by a callback before the first epoch to start `fit` later (a restored backup).
    pub(crate) resume_epoch: Option<usize>,
}

/// Keras' snake_case base name of a layer kind, by Keras' own two rules: an underscore before
/// a capitalised word that follows anything (`MaxPooling2D` → `max_pooling2d`), and between a
/// lowercase and an uppercase letter (`ReLU` → `re_lu`); never after a digit (`Conv2D` → `conv2d`).
pub(crate) fn snake_case(kind: &str) -> String {
    let chars: Vec<char> = kind.chars().collect();
    let mut s = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let starts_word = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if starts_word || chars[i - 1].is_ascii_lowercase() {
                s.push('_');
            }
        }
        s.push(c.to_ascii_lowercase());
    }
    s
}

/// Keras' name for a new layer of `kind` among names already `taken`: `dense`, then `dense_1`,
/// `dense_2`… (the first free one).
pub(crate) fn unique_name<'a>(kind: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let base = snake_case(kind);
    let free = |c: &str| !taken.clone().any(|t| t == c);
    if free(&base) {
        return base;
    }
    (1..)
        .map(|i| format!("{base}_{i}"))
        .find(|c| free(c))
        .expect("some suffix is free")
}

/// Whether samples of shape `have` can go into an input of shape `want`: the same shape, or
/// one that differs only by axes of size 1 (28×28 images into a model that takes 28×28×1, as
/// Keras' channels-last CNNs and PyTorch's 1×28×28 ones do). Such samples are reshaped, which
/// keeps every value in place.
pub fn fits(have: &[usize], want: &[usize]) -> bool {
    let squeezed = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    have == want || squeezed(have) == squeezed(want)
}

impl Model {
    pub(crate) fn from_graph(name: &str, sequential: bool, graph: Graph) -> Model {
        Model {
            name: name.to_string(),
            sequential,
            graph: Some(graph),
            pending: Vec::new(),
            compiled: None,
            stop_training: false,
            resume_epoch: None,
        }
    }

    /// The graph, or an error saying how to build the model.
    pub(crate) fn graph(&self, op: &str) -> Result<&Graph> {
        self.graph.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "{op}: the model '{}' is not built yet; give it an input shape with \
                 with_input_shape (or build), or fit it on data first",
                self.name
            ))
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Renames the model (its name in summaries, files and when nested in another model).
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// Whether the graph exists (the input shapes are known).
    pub fn is_built(&self) -> bool {
        self.graph.is_some()
    }
    /// Per-sample shapes of the inputs (empty until built).
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.graph
            .iter()
            .flat_map(|g| g.inputs.iter().map(|&i| g.nodes[i].shape.clone()))
            .collect()
    }
    /// What each input takes: f32 for numbers, [`DType::I64`] for integer ids kept exact,
    /// [`DType::Str`] for raw text (empty until built).
    pub fn input_dtypes(&self) -> Vec<DType> {
        self.graph
            .iter()
            .flat_map(|g| {
                g.inputs.iter().map(|&i| match g.nodes[i].op {
                    graph::Op::Input(d) => d,
                    graph::Op::Layer(_) => DType::F32,
                })
            })
            .collect()
    }
    /// Per-sample shapes of the outputs (empty until built).
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.graph
            .iter()
            .flat_map(|g| g.outputs.iter().map(|&i| g.nodes[i].shape.clone()))
            .collect()
    }
    /// The per-sample input shape of a single-input model, once known.
    pub fn input_shape(&self) -> Option<&[usize]> {
        let g = self.graph.as_ref()?;
        (g.inputs.len() == 1).then(|| g.nodes[g.inputs[0]].shape.as_slice())
    }
    /// The per-sample output shape of a single-output model, once built.
    pub fn output_shape(&self) -> Option<Vec<usize>> {
        let g = self.graph.as_ref()?;
        (g.outputs.len() == 1).then(|| g.nodes[g.outputs[0]].shape.clone())
    }
    /// The inputs' names, in order (the keys of named data and of `rill serve`'s requests).
    pub fn input_names(&self) -> Vec<String> {
        self.graph
            .iter()
            .flat_map(|g| g.inputs.iter().map(|&i| g.nodes[i].name.clone()))
            .collect()
    }
    /// The outputs' names, in order: the names of the layers that produce them, as in Keras.
    pub fn output_names(&self) -> Vec<String> {
        self.graph
            .iter()
            .flat_map(|g| g.outputs.iter().map(|&i| g.nodes[i].name.clone()))
            .collect()
    }

    /// Runs a single-input, single-output model on a batch (f32 or any dtype its first layer
    /// takes), recording the graph when gradients are on.
    pub fn call(&self, x: &rill_core::Tensor, training: bool) -> Result<rill_core::Tensor> {
        let mut out = self.call_many(std::slice::from_ref(x), training)?;
        if out.len() != 1 {
            return Err(Error::Input(format!(
                "{}: the model has {} outputs; use call_many",
                self.name,
                out.len()
            )));
        }
        Ok(out.remove(0))
    }

    /// Runs the model on a batch of each input; returns a batch of each output. Safe to call
    /// from many threads at once (`&self`).
    pub fn call_many(
        &self,
        inputs: &[rill_core::Tensor],
        training: bool,
    ) -> Result<Vec<rill_core::Tensor>> {
        let g = self.graph("call")?;
        if inputs.len() != g.inputs.len() {
            return Err(Error::Input(format!(
                "{}: expected {} inputs, found {}",
                self.name,
                g.inputs.len(),
                inputs.len()
            )));
        }
        let mut reshaped = Vec::new();
        for (&i, x) in g.inputs.iter().zip(inputs) {
            let want = &g.nodes[i].shape;
            if x.rank() > 0 && x.shape()[1..] != want[..] && fits(&x.shape()[1..], want) {
                let mut shape = vec![x.shape()[0]];
                shape.extend(want);
                reshaped.push(x.reshape(&shape)?);
                continue;
            }
            if x.shape().get(1..) != Some(want.as_slice()) {
                return Err(Error::Input(format!(
                    "{}: input '{}' expects shape {}, found {:?}",
                    self.name,
                    g.nodes[i].name,
                    crate::batch_shape(want),
                    x.shape()
                )));
            }
            reshaped.push(x.clone());
        }
        let inputs = &reshaped[..];
        // Bytes and integers become f32 here, as Keras casts to its `Input`'s dtype: a batch
        // of raw images goes straight in. (An Embedding casts its ids back, exactly below 2^24.)
        // Text goes only where an input takes text, and an input of text takes nothing else.
        let declared = |i: usize| match g.nodes[i].op {
            graph::Op::Input(d) => d,
            graph::Op::Layer(_) => rill_core::DType::F32,
        };
        if inputs.iter().any(|x| !x.dtype().is_float()) {
            let cast = g
                .inputs
                .iter()
                .zip(inputs)
                .map(|(&i, x)| match (declared(i), x.dtype()) {
                    (DType::Str, DType::Str) => Ok(x.clone()),
                    (DType::Str, found) => Err(Error::Input(format!(
                        "{}: input '{}' takes text (strings), found {found} values",
                        self.name, g.nodes[i].name
                    ))),
                    (_, DType::Str) => Err(Error::Input(format!(
                        "{}: input '{}' takes numbers, found text (strings); a model reads text when it starts with a layer such as TextVectorization",
                        self.name, g.nodes[i].name
                    ))),
                    (_, d) if d.is_float() => Ok(x.clone()),
                    // Integer ids stay exact (an IntegerLookup of ids above 2^24).
                    (DType::I64, _) => Ok(x.to_dtype(DType::I64)?),
                    _ => Ok(x.to_dtype(DType::F32)?),
                })
                .collect::<Result<Vec<_>>>()?;
            return g.run(&cast, training);
        }
        if let Some(&i) = g.inputs.iter().find(|&&i| declared(i) == DType::Str) {
            return Err(Error::Input(format!(
                "{}: input '{}' takes text (strings), found numbers",
                self.name, g.nodes[i].name
            )));
        }
        g.run(inputs, training)
    }

    /// Makes the running `fit` start at `epoch` (from a callback's `on_train_begin`, e.g. after
    /// restoring a backup of the epochs before it).
    pub fn set_initial_epoch(&mut self, epoch: usize) {
        self.resume_epoch = Some(epoch);
    }
    /// The compiled optimizer, if any.
    pub fn optimizer(&self) -> Option<&(dyn crate::optimizers::Optimizer + 'static)> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }
    /// The compiled optimizer, if any (for callbacks that change the learning rate).
    pub fn optimizer_mut(&mut self) -> Option<&mut (dyn crate::optimizers::Optimizer + 'static)> {
        self.compiled.as_mut().map(|c| c.optimizer.as_mut())
    }
    /// Whether `compile` has been called (or the model was loaded compiled).
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> = match &self.graph {
            Some(g) => g
                .layers()
                .map(|(n, l)| format!("{n} ({})", l.kind()))
                .collect(),
            None => self
                .pending
                .iter()
                .map(|(_, l)| l.kind().to_string())
                .collect(),
        };
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("inputs", &self.input_shapes())
            .field("layers", &layers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn layer_names_follow_keras() {
        for (kind, name) in [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("MaxPooling2D", "max_pooling2d"),
            ("ReLU", "re_lu"),
            ("BatchNormalization", "batch_normalization"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
        ] {
            assert_eq!(super::snake_case(kind), name);
        }
    }
}
