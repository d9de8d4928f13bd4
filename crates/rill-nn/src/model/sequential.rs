use crate::layers::Layer;
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::optimizers::Optimizer;
use crate::{Error, Result, Variable};
use rill_core::Tensor;

/// What `compile` sets: how the model learns and what it reports.
pub(crate) struct Compiled {
    pub optimizer: Box<dyn Optimizer>,
    pub loss: Box<dyn Loss>,
    pub metrics: Vec<Box<dyn Metric>>,
}

/// A plain stack of layers, each feeding the next — Keras' `Sequential`.
///
/// ```
/// use rill_nn::prelude::*;
/// let mut model = Sequential::new(vec![
///     Box::new(Flatten::new()),
///     Box::new(Dense::new(128).activation(Activation::Relu)),
///     Box::new(Dense::new(10)),
/// ])
/// .with_input_shape(&[28, 28])?;
/// assert_eq!(model.count_params(), 101_770);
/// # Ok::<(), rill_nn::Error>(())
/// ```
pub struct Sequential {
    pub(crate) name: String,
    pub(crate) layers: Vec<Box<dyn Layer>>,
    /// Per-sample input shape, once built.
    pub(crate) input_shape: Option<Vec<usize>>,
    /// Per-sample output shape of every layer, once built.
    pub(crate) output_shapes: Vec<Vec<usize>>,
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

/// Keras' name for a new layer of `kind` among layers already named `taken`: `dense`, then
/// `dense_1`, `dense_2`…
pub(crate) fn unique_name<'a>(kind: &str, taken: impl Iterator<Item = &'a str>) -> String {
    let base = snake_case(kind);
    let n = taken
        .filter(|n| *n == base || n.starts_with(&format!("{base}_")))
        .count();
    if n == 0 {
        base
    } else {
        format!("{base}_{n}")
    }
}

impl Sequential {
    /// A model from layers, unbuilt until its input shape is known.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Self {
        let mut model = Sequential {
            name: "sequential".into(),
            layers: Vec::new(),
            input_shape: None,
            output_shapes: Vec::new(),
            compiled: None,
            stop_training: false,
            resume_epoch: None,
        };
        for l in layers {
            model.push(l);
        }
        model
    }

    fn push(&mut self, mut layer: Box<dyn Layer>) {
        if layer.name().is_empty() {
            layer.set_name(unique_name(
                layer.kind(),
                self.layers.iter().map(|l| l.name()),
            ));
        }
        self.layers.push(layer);
    }

    /// Appends a layer (before the model is built).
    pub fn add(&mut self, layer: impl Layer + 'static) -> Result<()> {
        if self.input_shape.is_some() {
            return Err(Error::Config(
                "add: the model is already built; add layers before its input shape is set".into(),
            ));
        }
        self.push(Box::new(layer));
        Ok(())
    }

    /// Declares the per-sample input shape (Keras' `Input(shape=...)`) and builds every layer.
    pub fn with_input_shape(mut self, shape: &[usize]) -> Result<Self> {
        self.build(shape)?;
        Ok(self)
    }

    /// Builds every layer for per-sample inputs of `shape`. A built model stays built.
    pub fn build(&mut self, shape: &[usize]) -> Result<()> {
        if let Some(s) = &self.input_shape {
            if s.as_slice() != shape {
                return Err(Error::Input(format!(
                    "{}: built for inputs {}, asked to build for {}",
                    self.name,
                    crate::error::batch_shape(s),
                    crate::error::batch_shape(shape)
                )));
            }
            return Ok(());
        }
        let mut current = shape.to_vec();
        let mut shapes = Vec::with_capacity(self.layers.len());
        for layer in &mut self.layers {
            current = layer.build(&current)?;
            shapes.push(current.clone());
        }
        self.input_shape = Some(shape.to_vec());
        self.output_shapes = shapes;
        Ok(())
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }
    /// Appends a layer to an already built or trained model (e.g. a Softmax for probabilities).
    pub fn push_built(&mut self, mut layer: Box<dyn Layer>) -> Result<()> {
        let input = self
            .output_shape()
            .ok_or_else(|| Error::Config("push_built: build the model first".into()))?;
        if layer.name().is_empty() {
            layer.set_name(unique_name(
                layer.kind(),
                self.layers.iter().map(|l| l.name()),
            ));
        }
        let out = layer.build(&input)?;
        self.layers.push(layer);
        self.output_shapes.push(out);
        Ok(())
    }
    /// The per-sample input shape, once known.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    /// The per-sample output shape, once built.
    pub fn output_shape(&self) -> Option<Vec<usize>> {
        self.output_shapes
            .last()
            .cloned()
            .or_else(|| self.input_shape.clone())
    }

    /// Runs the layers on a batch.
    pub fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        let mut h = x.clone();
        for layer in &mut self.layers {
            h = layer.call(&h, training).map_err(|e| match e {
                Error::Core(c) => {
                    Error::Input(format!("layer '{}' ({}): {c}", layer.name(), layer.kind()))
                }
                other => other,
            })?;
        }
        Ok(h)
    }

    /// Every weight, trainable and not, in layer order.
    pub fn variables(&self) -> Vec<&Variable> {
        self.layers.iter().flat_map(|l| l.variables()).collect()
    }
    /// The trainable weights, mutably, in layer order (the optimizer's order).
    pub fn trainable_variables_mut(&mut self) -> Vec<&mut Variable> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.variables_mut())
            .filter(|v| v.trainable)
            .collect()
    }
    /// The total number of scalars in all weights.
    pub fn count_params(&self) -> usize {
        self.variables()
            .iter()
            .filter(|v| !v.is_state)
            .map(|v| v.numel())
            .sum()
    }
    /// Copies of every weight, in layer order.
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.variables()
            .iter()
            .filter(|v| !v.is_state)
            .map(|v| v.value.detach())
            .collect()
    }
    /// Replaces every weight (same order, shapes and dtypes as [`Sequential::get_weights`]).
    pub fn set_weights(&mut self, weights: &[Tensor]) -> Result<()> {
        let mut vars: Vec<&mut Variable> = self
            .layers
            .iter_mut()
            .flat_map(|l| l.variables_mut())
            .filter(|v| !v.is_state)
            .collect();
        if vars.len() != weights.len() {
            return Err(Error::Input(format!(
                "set_weights: the model has {} weights, found {}",
                vars.len(),
                weights.len()
            )));
        }
        for (v, w) in vars.iter_mut().zip(weights) {
            v.value
                .assign(w)
                .map_err(|e| Error::Input(format!("set_weights: weight '{}': {e}", v.name)))?;
        }
        Ok(())
    }
    /// Replaces the weight named `layer/variable` (same shape and dtype).
    pub fn set_weight(&mut self, name: &str, value: &Tensor) -> Result<()> {
        let (layer, var) = name.split_once('/').ok_or_else(|| {
            Error::Input(format!(
                "set_weight: '{name}' is not of the form layer/variable"
            ))
        })?;
        let l = self
            .layers
            .iter_mut()
            .find(|l| l.name() == layer)
            .ok_or_else(|| Error::Input(format!("set_weight: no layer named '{layer}'")))?;
        let index = l
            .variable_names()
            .iter()
            .position(|n| n == var)
            .ok_or_else(|| {
                Error::Input(format!("set_weight: layer '{layer}' has no weight '{var}'"))
            })?;
        let v = l.variables_mut().into_iter().nth(index).ok_or_else(|| {
            Error::Input(format!("set_weight: layer '{layer}' lost weight '{var}'"))
        })?;
        v.value
            .assign(value)
            .map_err(|e| Error::Input(format!("weight '{name}': {e}")))
    }
    /// Weights by `layer/variable` name, e.g. `dense/kernel`.
    pub fn named_weights(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .flat_map(|l| {
                l.variable_names()
                    .into_iter()
                    .zip(l.variables())
                    .map(move |(n, v)| (format!("{}/{n}", l.name()), v.value.detach()))
            })
            .collect()
    }
    /// Makes the running `fit` start at `epoch` (from a callback's `on_train_begin`, e.g. after
    /// restoring a backup of the epochs before it).
    pub fn set_initial_epoch(&mut self, epoch: usize) {
        self.resume_epoch = Some(epoch);
    }
    /// The compiled optimizer, if any.
    pub fn optimizer(&self) -> Option<&(dyn Optimizer + 'static)> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }
    /// The compiled optimizer, if any (for callbacks that change the learning rate).
    pub fn optimizer_mut(&mut self) -> Option<&mut (dyn Optimizer + 'static)> {
        self.compiled.as_mut().map(|c| c.optimizer.as_mut())
    }
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> = self
            .layers
            .iter()
            .map(|l| format!("{} ({})", l.name(), l.kind()))
            .collect();
        f.debug_struct("Sequential")
            .field("name", &self.name)
            .field("input_shape", &self.input_shape)
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
