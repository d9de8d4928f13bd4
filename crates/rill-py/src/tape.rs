//! `rill.GradientTape`: TensorFlow's way to take gradients in a custom training loop.
//!
//! Rill's autodiff records every op on a tensor that needs gradients; from Python it records
//! only inside a `with GradientTape()` block, as TensorFlow does, so that ops outside one keep
//! no graph alive.

use crate::convert;
use crate::errors;
use crate::tensor::PyTensor;
use crate::variable::PyVariable;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use rill_core::Tensor;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

thread_local! {
    /// How many tapes are open on this thread.
    static OPEN_TAPES: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` recording gradients only when a tape is open on this thread.
pub(crate) fn record<R>(f: impl FnOnce() -> R) -> R {
    if OPEN_TAPES.with(Cell::get) > 0 {
        f()
    } else {
        rill_core::no_grad(f)
    }
}

/// Records the ops run inside its `with` block so that `gradient` can take their derivatives.
#[pyclass(name = "GradientTape", module = "rill")]
pub struct GradientTape {
    persistent: bool,
    open: AtomicBool,
    used: AtomicBool,
    watched: Mutex<Vec<Tensor>>,
}

#[pymethods]
impl GradientTape {
    #[new]
    #[pyo3(signature = (persistent=false, watch_accessed_variables=true))]
    fn new(persistent: bool, watch_accessed_variables: bool) -> PyResult<Self> {
        if !watch_accessed_variables {
            return Err(PyTypeError::new_err(
                "GradientTape(watch_accessed_variables=False) is not supported: Rill's tape always watches trainable variables",
            ));
        }
        Ok(GradientTape {
            persistent,
            open: AtomicBool::new(false),
            used: AtomicBool::new(false),
            watched: Mutex::new(Vec::new()),
        })
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyResult<PyRef<'_, Self>> {
        if slf.open.swap(true, Ordering::SeqCst) {
            return Err(PyRuntimeError::new_err("this GradientTape is already open"));
        }
        OPEN_TAPES.with(|n| n.set(n.get() + 1));
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        if self.open.swap(false, Ordering::SeqCst) {
            OPEN_TAPES.with(|n| n.set(n.get().saturating_sub(1)));
        }
        false
    }

    /// Makes the tape follow a tensor that is not a trainable variable (an input, say), so
    /// that `gradient` can take derivatives with respect to it.
    fn watch(&self, tensor: &Bound<'_, PyAny>) -> PyResult<()> {
        let tensors: Vec<Bound<'_, PyAny>> = match tensor.extract::<Vec<Bound<'_, PyAny>>>() {
            Ok(list) if !tensor.is_instance_of::<PyTensor>() => list,
            _ => vec![tensor.clone()],
        };
        for t in tensors {
            if t.cast::<PyVariable>().is_ok() {
                continue; // variables are always watched
            }
            let t = t.cast::<PyTensor>().map_err(|_| {
                PyTypeError::new_err(
                    "GradientTape.watch takes rill.Tensor or rill.Variable objects",
                )
            })?;
            let watched = t.get().watch()?;
            self.watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(watched);
        }
        Ok(())
    }

    /// The derivatives of `target` (summed first if it has several elements, as TensorFlow
    /// does) with respect to each of `sources`: a list in the same order, `None` where the
    /// target does not depend on a source. A single source gives a single gradient.
    #[pyo3(signature = (target, sources))]
    fn gradient<'py>(
        &self,
        py: Python<'py>,
        target: &Bound<'py, PyAny>,
        sources: &Bound<'py, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        if self.used.swap(true, Ordering::SeqCst) && !self.persistent {
            return Err(PyRuntimeError::new_err(
                "a non-persistent GradientTape can only be used to compute one set of gradients; use GradientTape(persistent=True)",
            ));
        }
        let target = convert::tensor(target)?;
        let target = if target.numel() == 1 {
            target
        } else {
            let all: Vec<isize> = (0..target.rank() as isize).collect();
            target.sum(&all, false).map_err(errors::core)?
        };
        let grads = py.detach(|| target.backward()).map_err(errors::core)?;
        let single = sources.cast::<PyTensor>().is_ok() || sources.cast::<PyVariable>().is_ok();
        let list: Vec<Bound<'py, PyAny>> = if single {
            vec![sources.clone()]
        } else {
            sources.try_iter()?.collect::<PyResult<_>>()?
        };
        let mut out = Vec::with_capacity(list.len());
        for s in &list {
            let key = if let Ok(v) = s.cast::<PyVariable>() {
                v.get().variable.value()
            } else if let Ok(t) = s.cast::<PyTensor>() {
                t.get().tensor()
            } else {
                return Err(PyTypeError::new_err(format!(
                    "gradient: sources must be rill.Variable or watched rill.Tensor objects, found {}",
                    s.get_type().name()?
                )));
            };
            out.push(match grads.get(&key) {
                Some(g) => Some(Py::new(py, PyTensor::new(g.clone()))?),
                None => None,
            });
        }
        if single {
            return Ok(out
                .pop()
                .flatten()
                .map_or_else(|| py.None(), |t| t.into_any()));
        }
        Ok(pyo3::types::PyList::new(py, out)?.into_any().unbind())
    }
}
