//! `rill._rill.Model`: one Rill [`Model`] behind `rill.keras.Sequential` and `rill.keras.Model`
//! (the Python classes there parse Keras' arguments and call these methods).
//!
//! The model sits in a mutex: `fit`, `evaluate` and `predict` run with the GIL released, and
//! another thread that touches the model meanwhile is told it is busy instead of racing it.

use crate::convert;
use crate::errors;
use crate::fit;
use crate::tape::record;
use crate::tensor::PyTensor;
use crate::training_objects::loss_config;
use crate::variable::PyVariable;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rill_core::{Data, Tensor};
use rill_nn::{FunctionalBuilder, Losses, Metrics, Model, Node};
use std::sync::{Mutex, MutexGuard};

/// A Rill model.
#[pyclass(name = "Model", module = "rill._rill", frozen)]
pub struct PyModel {
    model: Mutex<Model>,
    /// While `fit` holds the model: its variables (shared handles), so that a callback can
    /// still read the weights, as Keras callbacks do with `self.model.get_weights()`.
    training: Mutex<Option<Weights>>,
}

/// A model's variables, all and by layer.
struct Weights {
    all: Vec<rill_nn::Variable>,
    by_layer: Vec<(String, String, Vec<rill_nn::Variable>)>,
}

impl Weights {
    fn of(model: &Model) -> Self {
        Weights {
            all: model.variables(),
            by_layer: model
                .layers()
                .iter()
                .map(|(n, l)| (n.to_string(), l.kind().to_string(), layer_weights(&***l)))
                .collect(),
        }
    }
}

/// A layer's weights as Keras lists them: without Rill's random-number state (Dropout's), which
/// Keras keeps in a seed generator outside `layer.weights`.
fn layer_weights(layer: &dyn rill_nn::layers::Layer) -> Vec<rill_nn::Variable> {
    let mut vars = layer.variables();
    vars.retain(|v| !v.is_state());
    vars
}

fn json(config: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(config).map_err(|e| PyValueError::new_err(format!("bad config: {e}")))
}

/// Every layer kind with a Keras form, as JSON: its Keras class name, the arguments Keras'
/// constructor takes by position, the arguments without a default and the others' defaults
/// ([`rill_nn::layers::keras_signature`]), and its file's examples as Keras arguments with
/// their per-sample input shapes. `rill.keras.layers` makes its classes from these.
#[pyfunction]
pub(crate) fn keras_layer_forms() -> PyResult<String> {
    use rill_nn::layers::{keras_form, keras_kinds, keras_signature, layer_examples, SampleValues};
    let mut forms = Vec::new();
    for kind in keras_kinds() {
        let (Some(form), Some(signature)) = (keras_form(kind), keras_signature(kind)) else {
            continue;
        };
        let mut examples = Vec::new();
        for e in layer_examples(kind) {
            let args = (form.to_keras)(&e.config).map_err(errors::nn)?;
            let (ids, text) = match e.values {
                SampleValues::Ids(n) => (Some(n), None),
                SampleValues::Uniform(..) => (None, None),
                SampleValues::Words => (None, Some("words")),
                SampleValues::Sentences => (None, Some("sentences")),
            };
            let input_dtype = rill_nn::layers::from_config(kind, &e.config)
                .ok()
                .and_then(|l| l.input_dtype())
                .map(|d| match d {
                    rill_core::DType::Str => "string",
                    _ => "int64",
                });
            examples.push(serde_json::json!({"args": args, "input_shape": e.input_shape, "ids": ids, "text": text,
                "words": rill_nn::layers::SAMPLE_WORDS, "inputs": e.inputs, "input_dtype": input_dtype}));
        }
        forms.push(serde_json::json!({
            "kind": kind,
            "positional": form.positional,
            "call_arguments": form.call_arguments,
            "positional_inputs": form.inputs == rill_nn::layers::KerasInputs::Positional,
            "onnx": rill_nn::layers::onnx_form(kind).is_some(),
            "required": signature.required,
            "defaults": signature.defaults,
            "examples": examples,
        }));
    }
    Ok(serde_json::Value::Array(forms).to_string())
}

/// Keras' `adapt`: the preprocessing layer of Keras class `class` and config `config` learns
/// its state from `data` (NumPy text for `TextVectorization`); returns its Keras config with
/// that state (the vocabulary) and its vocabulary with the special tokens, as
/// `get_vocabulary()` lists it.
#[pyfunction]
pub(crate) fn adapt_layer(
    py: Python<'_>,
    class: &str,
    config: &str,
    data: &Bound<'_, PyAny>,
) -> PyResult<(String, Vec<String>)> {
    let data = convert::tensor(data)?;
    let mut layer = new_layer(class, config, data.rank().saturating_sub(1))?;
    py.detach(|| layer.adapt(&data)).map_err(errors::nn)?;
    let (config, vocabulary) = layer_state(class, layer.as_ref())?;
    Ok((config, vocabulary))
}

/// The vocabulary (special tokens included) of the lookup layer of Keras class `class` and
/// config `config`.
#[pyfunction]
pub(crate) fn layer_vocabulary(class: &str, config: &str) -> PyResult<Vec<String>> {
    let layer = new_layer(class, config, 1)?;
    Ok(layer_state(class, layer.as_ref())?.1)
}

/// A layer's Keras config and, for a lookup layer, its vocabulary.
fn layer_state(class: &str, layer: &dyn rill_nn::layers::Layer) -> PyResult<(String, Vec<String>)> {
    use rill_nn::layers::{IntegerLookup, StringLookup, TextVectorization};
    let rill_config = layer
        .config()
        .ok_or_else(|| PyValueError::new_err(format!("{class}: no config")))?;
    let form = rill_nn::layers::keras_form(class)
        .ok_or_else(|| PyValueError::new_err(format!("{class}: no Keras form")))?;
    let keras = (form.to_keras)(&rill_config).map_err(errors::nn)?;
    let any: &dyn std::any::Any = layer;
    let vocabulary = if let Some(tv) = any.downcast_ref::<TextVectorization>() {
        tv.vocabulary()
    } else if let Some(lookup) = any.downcast_ref::<StringLookup>() {
        lookup.vocabulary()
    } else if let Some(lookup) = any.downcast_ref::<IntegerLookup>() {
        lookup.vocabulary().iter().map(i64::to_string).collect()
    } else {
        Vec::new()
    };
    Ok((keras.to_string(), vocabulary))
}

/// A new layer from its Keras class and config, for an input of per-sample rank `rank`.
fn new_layer(class: &str, config: &str, rank: usize) -> PyResult<Box<dyn rill_nn::layers::Layer>> {
    let config = json(config)?;
    let map = config
        .as_object()
        .ok_or_else(|| PyValueError::new_err("a layer config is a dict"))?;
    rill_keras::new_layer(class, map, rank).map_err(errors::keras)
}

/// Model data: one array, a list in the model's order, or a dict by name.
pub(crate) fn data(obj: &Bound<'_, PyAny>) -> PyResult<Data> {
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut named = Vec::new();
        for (k, v) in d.iter() {
            named.push((k.extract::<String>()?, convert::model_data(&v)?));
        }
        return Ok(Data::Named(named));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<pyo3::types::PyTuple>() {
        let list = obj
            .try_iter()?
            .map(|v| convert::model_data(&v?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Data::List(list));
    }
    Ok(Data::One(convert::model_data(obj)?))
}

/// One tensor as a NumPy array, several as a list of them.
fn outputs_to_python(py: Python<'_>, mut outs: Vec<Tensor>) -> PyResult<Py<PyAny>> {
    if outs.len() == 1 {
        return Ok(convert::to_numpy(py, outs.remove(0))?.unbind());
    }
    let list = outs
        .into_iter()
        .map(|t| convert::to_numpy(py, t))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, list)?.into_any().unbind())
}

impl PyModel {
    pub(crate) fn new(model: Model) -> Self {
        PyModel {
            model: Mutex::new(model),
            training: Mutex::new(None),
        }
    }
    /// The model, or an error if another thread is training or running it.
    pub(crate) fn lock(&self) -> PyResult<MutexGuard<'_, Model>> {
        match self.model.try_lock() {
            Ok(m) => Ok(m),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(PyRuntimeError::new_err(
                "the model is busy (being trained or run by fit, evaluate or predict, perhaps from a callback or another thread); during fit a callback can read its weights, and ModelCheckpoint saves it",
            )),
        }
    }
    /// The weights of the model being trained, when `fit` holds it.
    fn training_weights<R>(&self, f: impl FnOnce(&Weights) -> R) -> Option<R> {
        self.training
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(f)
    }
}

#[pymethods]
impl PyModel {
    /// A sequential model from `layers`: `(class, config)` pairs of new layers, or built
    /// models to nest (sharing their weights). `input_shape` builds it at once.
    #[staticmethod]
    #[pyo3(signature = (layers, input_shape=None, name=None))]
    fn sequential(
        layers: Vec<Bound<'_, PyAny>>,
        input_shape: Option<Vec<usize>>,
        name: Option<String>,
    ) -> PyResult<Self> {
        let mut model = rill_nn::Sequential::new(Vec::new());
        if let Some(n) = name {
            model = model.with_name(&n);
        }
        let first_model_shape = layers
            .first()
            .and_then(|l| l.cast::<PyModel>().ok())
            .and_then(|m| m.get().lock().ok()?.input_shape().map(<[usize]>::to_vec));
        if let Some(shape) = input_shape.or(first_model_shape) {
            model.build(&shape).map_err(errors::nn)?;
        }
        for l in &layers {
            add_to(&mut model, l)?;
        }
        Ok(PyModel::new(model))
    }

    /// Appends a layer (or a built model) to a sequential model.
    fn add(&self, layer: &Bound<'_, PyAny>) -> PyResult<()> {
        add_to(&mut *self.lock()?, layer)
    }

    /// Reads a model file in the format its extension names: `.keras`, `.onnx`, or Rill's own
    /// (`.rill`).
    #[staticmethod]
    fn load(py: Python<'_>, path: &str) -> PyResult<Self> {
        let model = py.detach(|| rill_saving::load_model(path).map_err(errors::saving))?;
        Ok(PyModel::new(model))
    }

    /// Writes the model in the format its extension names: a Keras 3 file for `.keras`, Keras
    /// weights for `.weights.h5`, ONNX for `.onnx`, Rill's own format (with the optimizer
    /// state) for `.rill`.
    fn save(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        let guard = self.lock()?;
        let model: &Model = &guard;
        py.detach(|| rill_saving::save_model(model, path).map_err(errors::saving))
    }

    /// Reads weights from a Keras `.weights.h5` or any model file of this architecture.
    fn load_weights(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        let guard = self.lock()?;
        let model: &Model = &guard;
        py.detach(|| rill_saving::load_weights(model, path).map_err(errors::saving))
    }

    /// Writes the model as ONNX (opset 17) with optional class names.
    #[pyo3(signature = (path, class_names=None))]
    fn export_onnx(
        &self,
        py: Python<'_>,
        path: &str,
        class_names: Option<Vec<String>>,
    ) -> PyResult<()> {
        let guard = self.lock()?;
        let model: &Model = &guard;
        let options = rill_onnx::ExportOptions { class_names };
        py.detach(|| rill_onnx::export(model, path, &options))
            .map_err(errors::onnx)
    }

    /// Sets the optimizer (Rill's config of it), the loss (one for every output, or a dict by
    /// output name), the metrics (names, or a dict of lists by output) and loss weights.
    #[pyo3(signature = (optimizer, loss, metrics, loss_weights=None))]
    fn compile(
        &self,
        optimizer: &str,
        loss: &Bound<'_, PyAny>,
        metrics: &Bound<'_, PyAny>,
        loss_weights: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let opt = rill_nn::optimizers::from_config(&json(optimizer)?).map_err(errors::nn)?;
        let boxed = |c: serde_json::Value| rill_nn::losses::from_config(&c).map_err(errors::nn);
        let mut losses = Losses::new();
        if let Ok(d) = loss.cast::<PyDict>() {
            for (k, v) in d.iter() {
                losses = losses.output_boxed(&k.extract::<String>()?, boxed(loss_config(&v)?)?);
            }
        } else {
            losses = losses.every_output(boxed(loss_config(loss)?)?);
        }
        if let Some(w) = loss_weights {
            for (k, v) in w.iter() {
                losses = losses.weight(&k.extract::<String>()?, v.extract()?);
            }
        }
        let metrics = if let Ok(d) = metrics.cast::<PyDict>() {
            let mut m = Metrics::new();
            for (k, v) in d.iter() {
                let output: String = k.extract()?;
                for name in v.extract::<Vec<String>>()? {
                    m = m.output(&output, &name);
                }
            }
            m
        } else {
            let names: Vec<String> = metrics.extract()?;
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            Metrics::from(refs.as_slice())
        };
        self.lock()?
            .compile_boxed(opt, losses, metrics)
            .map_err(errors::nn)
    }

    /// Trains; see `rill.keras.Model.fit`. Returns the history as a dict of lists.
    #[pyo3(signature = (x, y, epochs, batch_size, validation_split, validation_data, shuffle, verbose, callbacks, initial_epoch, owner))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        epochs: usize,
        batch_size: usize,
        validation_split: f64,
        validation_data: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        shuffle: bool,
        verbose: u8,
        callbacks: Vec<Bound<'py, PyAny>>,
        initial_epoch: usize,
        owner: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (x, y) = (data(x)?, data(y)?);
        // The shuffle follows Rill's seeded generator, as Keras' follows set_random_seed: each
        // fit shuffles differently, and a seeded script the same way every run.
        let seed = rill_core::random::with_global(|g| g.next_seed());
        let mut config = rill_nn::FitConfig::default()
            .epochs(epochs)
            .batch_size(batch_size)
            .validation_split(validation_split)
            .shuffle(shuffle)
            .seed(seed)
            .initial_epoch(initial_epoch)
            .verbose(fit::verbosity(verbose));
        if let Some((vx, vy)) = validation_data {
            config = config.validation_data(data(&vx)?, data(&vy)?);
        }
        let run = fit::Run::new(owner.unbind());
        for c in &callbacks {
            config.callbacks.push(fit::callback(c, &run)?);
        }
        config.callbacks.push(Box::new(run.interrupt_check()));
        let mut guard = self.lock()?;
        let model: &mut Model = &mut guard;
        // Built before fit when the model is; a model built by fit has no weights to read yet.
        *self.training.lock().unwrap_or_else(|e| e.into_inner()) =
            model.is_built().then(|| Weights::of(model));
        let result = py.detach(|| model.fit((x, y), config));
        *self.training.lock().unwrap_or_else(|e| e.into_inner()) = None;
        drop(guard);
        let history = run.finish(result.map_err(errors::nn))?;
        let out = PyDict::new(py);
        for (name, values) in history.history.iter() {
            out.set_item(name, values.to_vec())?;
        }
        Ok(out)
    }

    /// The loss and metrics over `(x, y)`, in the model's order (loss first).
    fn evaluate(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        batch_size: usize,
    ) -> PyResult<Vec<(String, f64)>> {
        let (x, y) = (data(x)?, data(y)?);
        let mut guard = self.lock()?;
        let model: &mut Model = &mut guard;
        let logs = py
            .detach(|| model.evaluate((x, y), batch_size))
            .map_err(errors::nn)?;
        let mut out: Vec<(String, f64)> = logs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        out.sort_by_key(|(k, _)| k != "loss");
        Ok(out)
    }

    /// The outputs for `x`: one NumPy array, or a list for several outputs.
    fn predict(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        batch_size: usize,
    ) -> PyResult<Py<PyAny>> {
        let x = data(x)?;
        let guard = self.lock()?;
        let model: &Model = &guard;
        let outs = py
            .detach(|| model.predict_outputs(x, batch_size))
            .map_err(errors::nn)?;
        outputs_to_python(py, outs)
    }

    /// Runs the model on a batch as a function (`model(x, training=...)`), recording
    /// gradients inside a `GradientTape`.
    fn call(&self, py: Python<'_>, x: &Bound<'_, PyAny>, training: bool) -> PyResult<Py<PyAny>> {
        let x = data(x)?;
        let model = self.lock()?;
        let xs: Vec<Tensor> = match x {
            Data::One(t) => vec![t],
            Data::List(l) => l,
            Data::Named(n) => {
                let names = model.input_names();
                names
                    .iter()
                    .map(|name| {
                        n.iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, t)| t.clone())
                            .ok_or_else(|| PyValueError::new_err(format!("missing input '{name}'")))
                    })
                    .collect::<PyResult<_>>()?
            }
        };
        let outs = record(|| model.call_many(&xs, training)).map_err(errors::nn)?;
        if outs.len() == 1 {
            return Ok(
                Py::new(py, PyTensor::new(outs.into_iter().next().expect("one")))?.into_any(),
            );
        }
        let list = outs
            .into_iter()
            .map(|t| Py::new(py, PyTensor::new(t)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, list)?.into_any().unbind())
    }

    /// Keras' summary table.
    fn summary(&self) -> PyResult<String> {
        Ok(self.lock()?.summary())
    }
    /// The architecture as Rill's JSON config.
    fn get_config(&self) -> PyResult<String> {
        Ok(self.lock()?.get_config().map_err(errors::nn)?.to_string())
    }
    /// Every weight, as NumPy arrays in layer order.
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let w = match self.training_weights(|w| w.all.iter().map(|v| v.value()).collect()) {
            Some(w) => w,
            None => self.lock()?.get_weights(),
        };
        w.into_iter()
            .map(|t: Tensor| convert::to_numpy(py, t.detach()))
            .collect()
    }
    /// Sets every weight, in layer order (shapes checked).
    fn set_weights(&self, weights: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let ts = weights
            .iter()
            .map(convert::model_data)
            .collect::<PyResult<Vec<_>>>()?;
        self.lock()?.set_weights(&ts).map_err(errors::nn)
    }
    /// The model's variables (shared with it), trainable ones only if asked.
    fn variables(&self, trainable_only: bool) -> PyResult<Vec<PyVariable>> {
        if let Some(vars) = self.training_weights(|w| w.all.clone()) {
            return Ok(vars
                .into_iter()
                .filter(|v| !trainable_only || v.is_trainable())
                .map(PyVariable::new)
                .collect());
        }
        let m = self.lock()?;
        let vars = if trainable_only {
            m.trainable_variables()
        } else {
            m.variables()
        };
        Ok(vars.into_iter().map(PyVariable::new).collect())
    }
    /// Parameters in all layers.
    fn count_params(&self) -> PyResult<usize> {
        Ok(self.lock()?.count_params())
    }
    /// `(name, class)` of each layer, in order.
    fn layers(&self) -> PyResult<Vec<(String, String)>> {
        let during_fit = self.training_weights(|w| {
            w.by_layer
                .iter()
                .map(|(n, k, _)| (n.clone(), k.clone()))
                .collect()
        });
        if let Some(layers) = during_fit {
            return Ok(layers);
        }
        let m = self.lock()?;
        Ok(m.layers()
            .iter()
            .map(|(n, l)| (n.to_string(), l.kind().to_string()))
            .collect())
    }
    /// A layer's variables, shared with the model.
    fn layer_variables(&self, name: &str) -> PyResult<Vec<PyVariable>> {
        let during_fit = self.training_weights(|w| {
            w.by_layer
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, vars)| vars.clone())
        });
        if let Some(Some(vars)) = during_fit {
            return Ok(vars.into_iter().map(PyVariable::new).collect());
        }
        let l = self.lock()?.layer(name).map_err(errors::nn)?;
        Ok(layer_weights(&*l)
            .into_iter()
            .map(PyVariable::new)
            .collect())
    }
    /// Freezes or unfreezes a layer (a nested model freezes as one).
    fn set_layer_trainable(&self, name: &str, on: bool) -> PyResult<()> {
        self.lock()?
            .layer(name)
            .map_err(errors::nn)?
            .set_trainable(on);
        Ok(())
    }
    /// Whether a layer's weights train.
    fn layer_trainable(&self, name: &str) -> PyResult<bool> {
        Ok(self.lock()?.layer(name).map_err(errors::nn)?.is_trainable())
    }
    /// Freezes or unfreezes every layer.
    fn set_trainable(&self, on: bool) -> PyResult<()> {
        for (_, l) in self.lock()?.layers() {
            l.set_trainable(on);
        }
        Ok(())
    }
    /// The model's name.
    #[getter]
    fn name(&self) -> PyResult<String> {
        Ok(self.lock()?.name().to_string())
    }
    /// Whether the input shapes are known.
    #[getter]
    fn built(&self) -> PyResult<bool> {
        Ok(self.lock()?.is_built())
    }
    /// Builds a sequential model for per-sample inputs of `shape`.
    fn build(&self, shape: Vec<usize>) -> PyResult<()> {
        self.lock()?.build(&shape).map_err(errors::nn)
    }
    /// Per-sample shapes of the inputs.
    #[getter]
    fn input_shapes(&self) -> PyResult<Vec<Vec<usize>>> {
        Ok(self.lock()?.input_shapes())
    }
    /// Per-sample shapes of the outputs.
    #[getter]
    fn output_shapes(&self) -> PyResult<Vec<Vec<usize>>> {
        Ok(self.lock()?.output_shapes())
    }
    /// The inputs' names.
    #[getter]
    fn input_names(&self) -> PyResult<Vec<String>> {
        Ok(self.lock()?.input_names())
    }
    /// The outputs' names.
    #[getter]
    fn output_names(&self) -> PyResult<Vec<String>> {
        Ok(self.lock()?.output_names())
    }
}

/// Appends `layer` — `(class, config)` or a built model — to a sequential model.
fn add_to(model: &mut Model, layer: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(inner) = layer.cast::<PyModel>() {
        let shared = inner.get().lock()?.share().map_err(errors::nn)?;
        let name = shared.name().to_string();
        return model
            .add_boxed(Some(&name), Box::new(shared))
            .map_err(errors::nn);
    }
    let (class, config): (String, String) = layer.extract()?;
    let rank = model.output_shape().map_or(0, |s| s.len());
    let built = new_layer(&class, &config, rank)?;
    let name = json(&config)?["name"].as_str().map(String::from);
    model.add_boxed(name.as_deref(), built).map_err(errors::nn)
}

/// Builds a functional model node by node, as `rill.keras.Model(inputs, outputs)` walks the
/// graph its symbolic tensors recorded.
#[pyclass(name = "GraphBuilder", module = "rill._rill")]
pub struct GraphBuilder {
    builder: Option<FunctionalBuilder>,
    nodes: Vec<Node>,
}

impl GraphBuilder {
    fn builder(&mut self) -> PyResult<&mut FunctionalBuilder> {
        self.builder
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("this graph was already built"))
    }
    fn node(&self, i: usize) -> PyResult<Node> {
        self.nodes
            .get(i)
            .copied()
            .ok_or_else(|| PyValueError::new_err(format!("no node {i} in this graph")))
    }
    fn push(&mut self, n: Node) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }
}

#[pymethods]
impl GraphBuilder {
    #[new]
    fn new() -> Self {
        GraphBuilder {
            builder: Some(FunctionalBuilder::new()),
            nodes: Vec::new(),
        }
    }
    /// Declares an input (of numbers; of integer ids when `dtype` is `"int64"`; of text when it
    /// is `"string"`); returns its node.
    #[pyo3(signature = (name, shape, dtype=None))]
    fn input(&mut self, name: &str, shape: Vec<usize>, dtype: Option<&str>) -> PyResult<usize> {
        let builder = self.builder()?;
        let n = match dtype {
            Some("string") => builder.input_of(Some(name), &shape, rill_core::DType::Str),
            Some("int64" | "int32") => builder.input_of(Some(name), &shape, rill_core::DType::I64),
            _ => builder.input_named(name, &shape),
        }
        .map_err(errors::nn)?;
        Ok(self.push(n))
    }
    /// Applies a new layer to its nodes (one, or several for a merge such as `Add`); `rank` is
    /// the first node's per-sample rank.
    fn layer(&mut self, class: &str, config: &str, xs: Vec<usize>, rank: usize) -> PyResult<usize> {
        let xs = xs
            .iter()
            .map(|&i| self.node(i))
            .collect::<PyResult<Vec<_>>>()?;
        let built = new_layer(class, config, rank)?;
        let name = json(config)?["name"].as_str().map(String::from);
        let builder = self.builder()?;
        let n = match xs.as_slice() {
            [x] => builder.layer_boxed(name.as_deref(), built, *x),
            _ => builder.merge_boxed(name.as_deref(), built, &xs),
        }
        .map_err(errors::nn)?;
        Ok(self.push(n))
    }
    /// Applies a built model to a node, sharing its weights.
    fn nested(&mut self, model: &Bound<'_, PyModel>, x: usize) -> PyResult<usize> {
        let x = self.node(x)?;
        let shared = model.get().lock()?.share().map_err(errors::nn)?;
        let name = shared.name().to_string();
        let n = self
            .builder()?
            .shared(&name, std::sync::Arc::new(shared), x)
            .map_err(errors::nn)?;
        Ok(self.push(n))
    }
    /// Applies a layer of another built model to a node, sharing its weights (a layer object
    /// used in two models, as Keras shares it).
    fn reuse(&mut self, model: &Bound<'_, PyModel>, layer: &str, x: usize) -> PyResult<usize> {
        let x = self.node(x)?;
        let shared = model.get().lock()?.layer(layer).map_err(errors::nn)?;
        let n = self
            .builder()?
            .shared(layer, shared, x)
            .map_err(errors::nn)?;
        Ok(self.push(n))
    }
    /// The per-sample shape at a node.
    fn shape(&mut self, x: usize) -> PyResult<Vec<usize>> {
        let x = self.node(x)?;
        Ok(self.builder()?.shape(x).map_err(errors::nn)?.to_vec())
    }
    /// The name of the layer (or input) at a node.
    fn name(&mut self, x: usize) -> PyResult<String> {
        let x = self.node(x)?;
        Ok(self.builder()?.name(x).map_err(errors::nn)?.to_string())
    }
    /// The model from `inputs` to `outputs`.
    fn build(&mut self, inputs: Vec<usize>, outputs: Vec<usize>, name: &str) -> PyResult<PyModel> {
        let ins = inputs
            .iter()
            .map(|&i| self.node(i))
            .collect::<PyResult<Vec<_>>>()?;
        let outs = outputs
            .iter()
            .map(|&i| self.node(i))
            .collect::<PyResult<Vec<_>>>()?;
        let b = self
            .builder
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this graph was already built"))?;
        let model = b.build(&ins, &outs).map_err(errors::nn)?.with_name(name);
        Ok(PyModel::new(model))
    }
}
