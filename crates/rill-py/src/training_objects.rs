//! The optimizer, loss and metric objects behind `rill.keras.optimizers`, `.losses` and
//! `.metrics`: each built from Rill's config of it (the Python classes translate Keras'
//! arguments), usable on its own in a custom training loop and handed to `compile` as its
//! config.

use crate::convert;
use crate::errors;
use crate::tape::record;
use crate::tensor::{wrap, PyTensor};
use crate::variable::PyVariable;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use rill_nn::losses::Loss;
use rill_nn::metrics::{AccuracyKind, Metric};
use rill_nn::optimizers::Optimizer;
use std::sync::Mutex;

fn json(config: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(config).map_err(|e| PyValueError::new_err(format!("bad config: {e}")))
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An optimizer with its state (Adam's moments, the step count).
#[pyclass(name = "Optimizer", module = "rill._rill", frozen)]
pub struct PyOptimizer {
    pub(crate) optimizer: Mutex<Box<dyn Optimizer>>,
}

#[pymethods]
impl PyOptimizer {
    /// An optimizer from Rill's config: `{"name": "adam", "learning_rate": 0.001,
    /// "hyperparameters": {...}, "clipnorm": ...}`.
    #[new]
    fn new(config: &str) -> PyResult<Self> {
        let optimizer = rill_nn::optimizers::from_config(&json(config)?).map_err(errors::nn)?;
        Ok(PyOptimizer {
            optimizer: Mutex::new(optimizer),
        })
    }
    /// One step: each variable moves by its gradient (`None` gradients are skipped, as Keras
    /// skips them).
    fn apply(
        &self,
        py: Python<'_>,
        grads: Vec<Option<Py<PyTensor>>>,
        variables: Vec<Py<PyVariable>>,
    ) -> PyResult<()> {
        if grads.len() != variables.len() {
            return Err(PyValueError::new_err(format!(
                "apply_gradients: {} gradients for {} variables",
                grads.len(),
                variables.len()
            )));
        }
        let mut set = rill_core::Gradients::default();
        let mut vars = Vec::new();
        for (g, v) in grads.iter().zip(&variables) {
            let (Some(g), v) = (g, &v.get().variable) else {
                continue;
            };
            let g = g.get().tensor().detach();
            if g.shape() != v.shape().as_slice() {
                return Err(PyValueError::new_err(format!(
                    "apply_gradients: the gradient of '{}' has shape {:?}, the variable {:?}",
                    v.name(),
                    g.shape(),
                    v.shape()
                )));
            }
            if !v.is_trainable() {
                return Err(PyValueError::new_err(format!(
                    "apply_gradients: '{}' is not trainable",
                    v.name()
                )));
            }
            set.set(&v.value(), g);
            vars.push(v.clone());
        }
        let mut guard = lock(&self.optimizer);
        let opt: &mut dyn Optimizer = guard.as_mut();
        py.detach(|| rill_core::no_grad(|| opt.apply(&vars, &set)))
            .map_err(errors::nn)
    }
    /// Rill's config of this optimizer, as JSON.
    fn config(&self) -> PyResult<String> {
        Ok(lock(&self.optimizer)
            .config()
            .map_err(errors::nn)?
            .to_string())
    }
    /// The current learning rate.
    #[getter]
    fn learning_rate(&self) -> f64 {
        lock(&self.optimizer).learning_rate()
    }
    #[setter]
    fn set_learning_rate(&self, lr: f64) {
        lock(&self.optimizer).set_learning_rate(lr);
    }
    /// Steps taken.
    #[getter]
    fn iterations(&self) -> u64 {
        lock(&self.optimizer).iterations()
    }
}

/// A loss function: `loss(y_true, y_pred)` is the batch's mean loss.
#[pyclass(name = "Loss", module = "rill._rill", frozen)]
pub struct PyLoss {
    pub(crate) loss: Box<dyn Loss>,
}

#[pymethods]
impl PyLoss {
    /// A loss from Rill's config: `{"name": "sparse_categorical_crossentropy", "from_logits": true}`.
    #[new]
    fn new(config: &str) -> PyResult<Self> {
        let loss = rill_nn::losses::from_config(&json(config)?).map_err(errors::nn)?;
        Ok(PyLoss { loss })
    }
    fn __call__(
        &self,
        py: Python<'_>,
        y_true: &Bound<'_, PyAny>,
        y_pred: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyTensor>> {
        let (t, p) = (convert::model_data(y_true)?, convert::model_data(y_pred)?);
        let r = record(|| self.loss.compute(&t, &p)).map_err(errors::nn)?;
        wrap(py, Ok(r))
    }
    /// Rill's config of this loss, as JSON.
    fn config(&self) -> String {
        self.loss.config().to_string()
    }
}

/// A streaming metric: `update_state` per batch, `result` over all of them.
#[pyclass(name = "Metric", module = "rill._rill", frozen)]
pub struct PyMetric {
    metric: Mutex<Box<dyn Metric>>,
    name: String,
}

#[pymethods]
impl PyMetric {
    /// A metric by Keras name; `accuracy` is `"sparse_categorical"`, `"categorical"` or
    /// `"binary"` for the plain `accuracy` metric.
    #[new]
    #[pyo3(signature = (name, accuracy="sparse_categorical"))]
    fn new(name: &str, accuracy: &str) -> PyResult<Self> {
        let kind = match accuracy {
            "sparse_categorical" => AccuracyKind::SparseCategorical,
            "categorical" => AccuracyKind::Categorical,
            "binary" => AccuracyKind::Binary,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown accuracy kind '{other}'"
                )))
            }
        };
        let metric = rill_nn::metrics::from_name(name, kind).map_err(errors::nn)?;
        Ok(PyMetric {
            name: metric.name().to_string(),
            metric: Mutex::new(metric),
        })
    }
    /// Adds a batch of targets and predictions.
    fn update_state(&self, y_true: &Bound<'_, PyAny>, y_pred: &Bound<'_, PyAny>) -> PyResult<()> {
        let (t, p) = (convert::tensor(y_true)?, convert::model_data(y_pred)?);
        rill_core::no_grad(|| lock(&self.metric).update(&t, &p)).map_err(errors::nn)
    }
    /// The value over every batch since the last reset.
    fn result(&self) -> f64 {
        lock(&self.metric).result()
    }
    /// Forgets every batch.
    fn reset_state(&self) {
        lock(&self.metric).reset()
    }
    /// The name in logs.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }
}

/// Checks that an object handed over as a loss is one.
pub(crate) fn loss_config(obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let l = obj
        .cast::<PyLoss>()
        .map_err(|_| PyTypeError::new_err("expected a rill loss"))?;
    Ok(l.get().loss.config())
}
