//! `rill.Variable`: a model's weight (or one the user makes), shared with the model that holds
//! it — assigning to it changes the model.

use crate::convert;
use crate::errors;
use crate::tensor::{binary, wrap, PyTensor};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rill_core::Tensor;
use rill_nn::Variable;

/// A mutable tensor that training updates; `model.trainable_variables` holds these.
#[pyclass(name = "Variable", module = "rill", frozen)]
pub struct PyVariable {
    pub(crate) variable: Variable,
}

impl PyVariable {
    pub(crate) fn new(variable: Variable) -> Self {
        PyVariable { variable }
    }
    /// Sets the value to `op(value, delta)`, `delta` in the variable's dtype, unrecorded.
    fn update(
        &self,
        delta: &Bound<'_, PyAny>,
        op: fn(&Tensor, &Tensor) -> rill_core::Result<Tensor>,
    ) -> PyResult<()> {
        let v = self.variable.value().detach();
        let d = convert::tensor(delta)?
            .to_dtype(v.dtype())
            .map_err(errors::core)?;
        let new = rill_core::no_grad(|| op(&v, &d)).map_err(errors::core)?;
        self.variable.assign(&new).map_err(errors::core)
    }
}

#[pymethods]
impl PyVariable {
    #[new]
    #[pyo3(signature = (initial_value, trainable=true, name="Variable", dtype=None))]
    fn py_new(
        initial_value: &Bound<'_, PyAny>,
        trainable: bool,
        name: &str,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut t = convert::tensor(initial_value)?;
        if let Some(d) = dtype {
            t = t.to_dtype(convert::dtype_from(d)?).map_err(errors::core)?;
        }
        let variable = if trainable {
            Variable::trainable(name, t).map_err(errors::core)?
        } else {
            Variable::fixed(name, t)
        };
        Ok(PyVariable { variable })
    }
    /// The variable's name (`dense/kernel` for a model's weight).
    #[getter]
    fn name(&self) -> String {
        self.variable.name().to_string()
    }
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.variable.shape())
    }
    #[getter]
    fn dtype(&self) -> &'static str {
        convert::dtype_name(self.variable.value().dtype())
    }
    /// Whether the optimizer updates it.
    #[getter]
    fn trainable(&self) -> bool {
        self.variable.is_trainable()
    }
    /// The current value as a tensor.
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        Py::new(py, PyTensor::new(self.variable.value()))
    }
    /// The current value as a NumPy array.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_numpy(py, self.variable.value().detach())
    }
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = copy;
        let a = self.numpy(py)?;
        match dtype {
            Some(d) => a.call_method1("astype", (d,)),
            None => Ok(a),
        }
    }
    /// Sets the value (same shape and dtype).
    fn assign(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let t = convert::tensor(value)?;
        let t = t
            .to_dtype(self.variable.value().dtype())
            .map_err(errors::core)?;
        self.variable.assign(&t).map_err(errors::core)
    }
    /// Adds to the value.
    fn assign_add(&self, delta: &Bound<'_, PyAny>) -> PyResult<()> {
        self.update(delta, Tensor::add)
    }
    /// Subtracts from the value.
    fn assign_sub(&self, delta: &Bound<'_, PyAny>) -> PyResult<()> {
        self.update(delta, Tensor::sub)
    }
    fn __repr__(&self) -> String {
        format!(
            "<rill.Variable '{}' shape={:?} dtype={}>",
            self.variable.name(),
            self.variable.shape(),
            convert::dtype_name(self.variable.value().dtype())
        )
    }
    fn __add__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        wrap(
            py,
            binary("add", &self.variable.value(), &convert::tensor(o)?),
        )
    }
    fn __sub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        wrap(
            py,
            binary("subtract", &self.variable.value(), &convert::tensor(o)?),
        )
    }
    fn __mul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        wrap(
            py,
            binary("multiply", &self.variable.value(), &convert::tensor(o)?),
        )
    }
    fn __rmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        wrap(
            py,
            binary("multiply", &convert::tensor(o)?, &self.variable.value()),
        )
    }
    fn __matmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        wrap(
            py,
            binary("matmul", &self.variable.value(), &convert::tensor(o)?),
        )
    }
    fn __rmatmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        wrap(
            py,
            binary("matmul", &convert::tensor(o)?, &self.variable.value()),
        )
    }
}
