//! `rill.Tensor`: a Rill tensor in Python, with NumPy's protocol and Python's operators.

use crate::convert;
use crate::errors;
use crate::tape::record;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rill_core::Tensor;
use std::sync::RwLock;

/// An n-dimensional array of one dtype, with gradients. Convert with `numpy()` or
/// `np.asarray(t)`; build from anything `numpy.asarray` takes with `rill.constant`.
#[pyclass(name = "Tensor", module = "rill", frozen)]
pub struct PyTensor {
    // Replaced only by `GradientTape.watch`, which marks the same value as needing gradients.
    value: RwLock<Tensor>,
}

impl PyTensor {
    pub(crate) fn new(t: Tensor) -> Self {
        PyTensor {
            value: RwLock::new(t),
        }
    }
    /// The tensor (a cheap handle).
    pub(crate) fn tensor(&self) -> Tensor {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Marks the value as needing gradients and returns it.
    pub(crate) fn watch(&self) -> PyResult<Tensor> {
        let mut v = self.value.write().unwrap_or_else(|e| e.into_inner());
        if !v.dtype().is_float() {
            return Err(PyTypeError::new_err(format!(
                "GradientTape.watch: only float tensors have gradients, found {}",
                convert::dtype_name(v.dtype())
            )));
        }
        if !v.requires_grad() {
            *v = v.clone().set_requires_grad(true).map_err(errors::core)?;
        }
        Ok(v.clone())
    }
}

/// A new Python tensor from an op's result.
pub(crate) fn wrap(py: Python<'_>, t: rill_core::Result<Tensor>) -> PyResult<Py<PyTensor>> {
    Py::new(py, PyTensor::new(t.map_err(errors::core)?))
}

/// The other operand of an operator, in `like`'s dtype when it is a Python number (`x * 2`
/// keeps `x` float32, as in TensorFlow).
fn operand(like: &Tensor, other: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let (t, source) = convert::tensor_and_source(other)?;
    match source {
        convert::Source::Python if t.dtype() != like.dtype() => {
            t.to_dtype(like.dtype()).map_err(errors::core)
        }
        _ => Ok(t),
    }
}

/// A binary op by name, with both operands made tensors.
pub(crate) fn binary(name: &str, a: &Tensor, b: &Tensor) -> rill_core::Result<Tensor> {
    record(|| match name {
        "add" => a.add(b),
        "subtract" => a.sub(b),
        "multiply" => a.mul(b),
        "divide" => a.div(b),
        "matmul" => a.matmul(b),
        "maximum" => a.maximum(b),
        "minimum" => a.minimum(b),
        "pow" => a.pow(b),
        "equal" => a.eq(b),
        "not_equal" => a.ne(b),
        "less" => a.lt(b),
        "less_equal" => a.le(b),
        "greater" => a.gt(b),
        "greater_equal" => a.ge(b),
        other => Err(rill_core::Error::invalid(
            "binary",
            format!("unknown op '{other}'"),
        )),
    })
}

#[pymethods]
impl PyTensor {
    #[new]
    #[pyo3(signature = (value, dtype=None))]
    fn py_new(value: &Bound<'_, PyAny>, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut t = convert::tensor(value)?;
        if let Some(d) = dtype {
            t = t.to_dtype(convert::dtype_from(d)?).map_err(errors::core)?;
        }
        Ok(PyTensor::new(t))
    }

    /// The extent of each axis.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.tensor().shape())
    }
    /// The element type's name (`"float32"`, `"uint8"`, …), as NumPy spells it; `"string"` for text.
    #[getter]
    fn dtype(&self) -> &'static str {
        convert::dtype_name(self.tensor().dtype())
    }
    /// The number of axes.
    #[getter]
    fn ndim(&self) -> usize {
        self.tensor().rank()
    }
    /// The values as a NumPy array.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_numpy(py, self.tensor())
    }
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if copy == Some(false) {
            return Err(PyValueError::new_err(
                "a rill.Tensor cannot be viewed by NumPy without a copy",
            ));
        }
        let a = convert::to_numpy(py, self.tensor())?;
        match dtype {
            Some(d) => a.call_method1("astype", (d,)),
            None => Ok(a),
        }
    }
    /// The single value of a one-element tensor as a Python number.
    fn item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = self.tensor();
        if t.numel() != 1 {
            return Err(PyValueError::new_err(format!(
                "item: expected a tensor with one element, found shape {:?}",
                t.shape()
            )));
        }
        convert::to_numpy(py, t)?.call_method0("item")
    }
    fn __float__(&self, py: Python<'_>) -> PyResult<f64> {
        self.item(py)?.extract()
    }
    fn __int__(&self, py: Python<'_>) -> PyResult<i64> {
        self.item(py)?.call_method0("__int__")?.extract()
    }
    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        self.item(py)?.is_truthy()
    }
    fn __len__(&self) -> PyResult<usize> {
        self.tensor()
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of a scalar tensor"))
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let t = self.tensor();
        let values = convert::to_numpy(py, t.clone())?.repr()?.to_string();
        let values = values
            .strip_prefix("array(")
            .and_then(|v| v.rsplit_once(')').map(|(v, _)| v))
            .map(|v| v.split(", dtype=").next().unwrap_or(v).to_string())
            .unwrap_or(values);
        Ok(format!(
            "<rill.Tensor: shape={:?}, dtype={}, numpy={values}>",
            t.shape(),
            convert::dtype_name(t.dtype())
        ))
    }

    /// The same values in another dtype.
    fn astype(&self, py: Python<'_>, dtype: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let d = convert::dtype_from(dtype)?;
        wrap(py, record(|| self.tensor().to_dtype(d)))
    }
    /// The same values with another shape (one axis may be -1).
    #[pyo3(signature = (*shape))]
    fn reshape(&self, py: Python<'_>, shape: Vec<isize>) -> PyResult<Py<PyTensor>> {
        wrap(py, record(|| self.tensor().reshape_infer(&shape)))
    }

    fn __add__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("add", &a, &operand(&a, o)?))
    }
    fn __radd__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("add", &operand(&a, o)?, &a))
    }
    fn __sub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("subtract", &a, &operand(&a, o)?))
    }
    fn __rsub__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("subtract", &operand(&a, o)?, &a))
    }
    fn __mul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("multiply", &a, &operand(&a, o)?))
    }
    fn __rmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("multiply", &operand(&a, o)?, &a))
    }
    fn __truediv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("divide", &a, &operand(&a, o)?))
    }
    fn __rtruediv__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("divide", &operand(&a, o)?, &a))
    }
    fn __matmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("matmul", &a, &operand(&a, o)?))
    }
    fn __rmatmul__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("matmul", &operand(&a, o)?, &a))
    }
    fn __pow__(
        &self,
        py: Python<'_>,
        o: &Bound<'_, PyAny>,
        _modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("pow", &a, &operand(&a, o)?))
    }
    fn __neg__(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, record(|| self.tensor().neg()))
    }
    fn __lt__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("less", &a, &operand(&a, o)?))
    }
    fn __le__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("less_equal", &a, &operand(&a, o)?))
    }
    fn __gt__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("greater", &a, &operand(&a, o)?))
    }
    fn __ge__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let a = self.tensor();
        wrap(py, binary("greater_equal", &a, &operand(&a, o)?))
    }
}
