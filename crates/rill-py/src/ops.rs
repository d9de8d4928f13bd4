//! The op set behind `rill.*` (`rill.matmul`, `rill.reduce_mean`, `rill.nn.relu`, …): each
//! Python function names a Rill op; operands are anything `numpy.asarray` takes.

use crate::convert;
use crate::errors;
use crate::tape::record;
use crate::tensor::{binary as binary_op, wrap, PyTensor};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rill_core::{DType, Tensor};

/// An elementwise op of one tensor.
#[pyfunction]
pub(crate) fn unary(py: Python<'_>, name: &str, x: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    let r = record(|| match name {
        "abs" => x.abs(),
        "exp" => x.exp(),
        "log" => x.log(),
        "sqrt" => x.sqrt(),
        "square" => x.square(),
        "negative" => x.neg(),
        "tanh" => x.tanh(),
        "sigmoid" => x.sigmoid(),
        "relu" => x.relu(),
        "gelu" => x.gelu(),
        "softplus" => x.softplus(),
        "erf" => x.erf(),
        other => Err(rill_core::Error::invalid(
            "unary",
            format!("unknown op '{other}'"),
        )),
    });
    wrap(py, r)
}

/// A broadcasting op of two tensors; a Python number takes the other operand's dtype.
#[pyfunction]
pub(crate) fn binary(
    py: Python<'_>,
    name: &str,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
) -> PyResult<Py<PyTensor>> {
    let (ta, sa) = convert::tensor_and_source(a)?;
    let (tb, sb) = convert::tensor_and_source(b)?;
    let (ta, tb) = match (sa, sb) {
        (convert::Source::Python, convert::Source::Typed) => {
            (ta.to_dtype(tb.dtype()).map_err(errors::core)?, tb)
        }
        (convert::Source::Typed, convert::Source::Python) => {
            let d = ta.dtype();
            (ta, tb.to_dtype(d).map_err(errors::core)?)
        }
        (convert::Source::Python, convert::Source::Python) => {
            (convert::tensor(a)?, convert::tensor(b)?)
        }
        _ => (ta, tb),
    };
    wrap(py, binary_op(name, &ta, &tb))
}

/// The axes of a reduction: all of them for `None`, else an int or a list of ints.
fn axes(x: &Tensor, axis: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<isize>> {
    match axis {
        None => Ok((0..x.rank() as isize).collect()),
        Some(a) if a.is_none() => Ok((0..x.rank() as isize).collect()),
        Some(a) => match a.extract::<isize>() {
            Ok(i) => Ok(vec![i]),
            Err(_) => a.extract::<Vec<isize>>(),
        },
    }
}

/// A reduction over `axis` (all axes when `None`).
#[pyfunction]
#[pyo3(signature = (name, x, axis=None, keepdims=false))]
pub(crate) fn reduce(
    py: Python<'_>,
    name: &str,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
    keepdims: bool,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    let ax = axes(&x, axis)?;
    let r = record(|| match name {
        "sum" => x.sum(&ax, keepdims),
        "mean" => x.mean(&ax, keepdims),
        "max" => x.max(&ax, keepdims),
        "min" => x.min(&ax, keepdims),
        "variance" => x.variance(&ax, keepdims),
        "logsumexp" => x.logsumexp(&ax, keepdims),
        other => Err(rill_core::Error::invalid(
            "reduce",
            format!("unknown reduction '{other}'"),
        )),
    });
    wrap(py, r)
}

/// The index of the largest (`argmax`) or smallest (`argmin`) value along `axis`, as int64.
#[pyfunction]
#[pyo3(signature = (name, x, axis=0))]
pub(crate) fn arg(
    py: Python<'_>,
    name: &str,
    x: &Bound<'_, PyAny>,
    axis: isize,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    let r = match name {
        "argmax" => x.argmax(axis, false),
        _ => x.argmin(axis, false),
    };
    wrap(py, r)
}

/// `softmax` or `log_softmax` along `axis`.
#[pyfunction]
#[pyo3(signature = (name, x, axis=-1))]
pub(crate) fn softmax(
    py: Python<'_>,
    name: &str,
    x: &Bound<'_, PyAny>,
    axis: isize,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    wrap(
        py,
        record(|| match name {
            "log_softmax" => x.log_softmax(axis),
            _ => x.softmax(axis),
        }),
    )
}

/// The same values with another shape (one axis may be -1).
#[pyfunction]
pub(crate) fn reshape(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    shape: Vec<isize>,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    wrap(py, record(|| x.reshape_infer(&shape)))
}

/// The axes permuted (reversed when `perm` is `None`, as TensorFlow's `transpose`).
#[pyfunction]
#[pyo3(signature = (x, perm=None))]
pub(crate) fn transpose(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    perm: Option<Vec<usize>>,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    let perm = perm.unwrap_or_else(|| (0..x.rank()).rev().collect());
    wrap(py, record(|| x.permute(&perm)))
}

/// The values converted to `dtype`.
#[pyfunction]
pub(crate) fn cast(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    dtype: &Bound<'_, PyAny>,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    let d = convert::dtype_from(dtype)?;
    wrap(py, record(|| x.to_dtype(d)))
}

/// `concat` or `stack` of tensors along `axis`.
#[pyfunction]
pub(crate) fn join(
    py: Python<'_>,
    name: &str,
    values: Vec<Bound<'_, PyAny>>,
    axis: isize,
) -> PyResult<Py<PyTensor>> {
    let ts = values
        .iter()
        .map(convert::tensor)
        .collect::<PyResult<Vec<_>>>()?;
    wrap(
        py,
        record(|| match name {
            "stack" => Tensor::stack(&ts, axis),
            _ => Tensor::concat(&ts, axis),
        }),
    )
}

/// Integer labels as one-hot float32 rows of `depth`.
#[pyfunction]
pub(crate) fn one_hot(
    py: Python<'_>,
    indices: &Bound<'_, PyAny>,
    depth: usize,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(indices)?;
    wrap(py, x.one_hot(depth))
}

/// Elements of `x` where `condition` holds, else of `y`.
#[pyfunction]
pub(crate) fn where_(
    py: Python<'_>,
    condition: &Bound<'_, PyAny>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
) -> PyResult<Py<PyTensor>> {
    let c = convert::tensor(condition)?;
    let (x, y) = (convert::tensor(x)?, convert::tensor(y)?);
    wrap(py, record(|| Tensor::where_cond(&c, &x, &y)))
}

/// Values clipped to `[lo, hi]`.
#[pyfunction]
pub(crate) fn clip(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    lo: f64,
    hi: f64,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    wrap(py, record(|| x.clip(lo, hi)))
}

/// A tensor filled with `value` (`zeros`, `ones`, `fill`).
#[pyfunction]
#[pyo3(signature = (shape, value, dtype=None))]
pub(crate) fn full(
    py: Python<'_>,
    shape: Vec<usize>,
    value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyTensor>> {
    let d = dtype
        .map(convert::dtype_from)
        .transpose()?
        .unwrap_or(DType::F32);
    check_size(&shape)?;
    Py::new(py, PyTensor::new(Tensor::full(&shape, value, d)))
}

/// Refuses shapes whose element count overflows or exceeds what one tensor may hold.
fn check_size(shape: &[usize]) -> PyResult<()> {
    const MAX_ELEMENTS: usize = 1 << 34;
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .map(|_| ())
        .ok_or_else(|| PyValueError::new_err(format!("shape {shape:?} holds too many elements")))
}

/// Seeded random values from Rill's global generator: `normal` (mean, stddev), `uniform`
/// (minval, maxval) or `truncated_normal` (mean, stddev).
#[pyfunction]
#[pyo3(signature = (name, shape, a, b, dtype=None))]
pub(crate) fn random(
    py: Python<'_>,
    name: &str,
    shape: Vec<usize>,
    a: f64,
    b: f64,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyTensor>> {
    let d = dtype
        .map(convert::dtype_from)
        .transpose()?
        .unwrap_or(DType::F32);
    check_size(&shape)?;
    wrap(
        py,
        match name {
            "uniform" => Tensor::rand_uniform(&shape, a, b, d),
            "truncated_normal" => Tensor::truncated_normal(&shape, a, b, d),
            _ => Tensor::randn(&shape, a, b, d),
        },
    )
}

/// Seeds Rill's global generator (`rill.random.set_seed`, `keras.utils.set_random_seed`).
#[pyfunction]
pub(crate) fn set_seed(seed: u64) {
    rill_core::set_seed(seed);
}

/// A slice `[start, end)` along `axis`.
#[pyfunction]
pub(crate) fn slice(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: isize,
    start: usize,
    end: usize,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    wrap(py, record(|| x.slice(axis, start, end)))
}

/// Rows of `x` at `indices` along `axis`.
#[pyfunction]
#[pyo3(signature = (x, indices, axis=0))]
pub(crate) fn gather(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    axis: isize,
) -> PyResult<Py<PyTensor>> {
    let x = convert::tensor(x)?;
    let i = convert::tensor(indices)?;
    wrap(py, record(|| x.gather(axis, &i)))
}
