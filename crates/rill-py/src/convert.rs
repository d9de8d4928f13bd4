//! NumPy arrays (and anything `numpy.asarray` takes) in and out of Rill tensors.
//!
//! In: an array of a dtype Rill has keeps it (uint8 images stay uint8) and its values are
//! read once, in parallel when large; other integer and float widths widen to the nearest
//! Rill dtype. Out: the tensor's buffer is handed to NumPy without a copy when the tensor is
//! its only holder.

use crate::errors;
use crate::tensor::PyTensor;
use crate::variable::PyVariable;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use rill_core::{DType, Tensor};

/// Whether a value came from Python scalars and lists (which take TensorFlow's dtypes:
/// float32 and int32) or from an array or tensor (which keep theirs).
pub(crate) enum Source {
    Python,
    Typed,
}

/// Below this many elements a copy is not worth splitting across threads.
const PARALLEL_COPY: usize = 1 << 20;

/// `src` converted element by element, on every core for large arrays.
fn convert_slice<S: Copy + Sync, T: Send>(src: &[S], f: impl Fn(S) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    if src.len() < PARALLEL_COPY {
        src.iter().map(|&v| f(v)).collect()
    } else {
        src.par_iter().map(|&v| f(v)).collect()
    }
}

/// The array's values in row-major (C) order, converted by `f`. Only a C-contiguous array's
/// memory is already in that order: `as_slice` also hands out a Fortran-ordered array's
/// memory (`a.T`, `np.asfortranarray`, what pandas' `to_numpy` returns), which read as is
/// would be the transpose. Every other layout — Fortran order, negative or non-unit strides,
/// broadcast views — is walked in logical order.
fn values_in_c_order<S: numpy::Element + Copy + Sync, T: Send>(
    a: &PyReadonlyArrayDyn<'_, S>,
    f: impl Fn(S) -> T + Sync + Send,
) -> Vec<T> {
    if a.is_c_contiguous() {
        if let Ok(s) = a.as_slice() {
            return convert_slice(s, f);
        }
    }
    a.as_array().iter().map(|&v| f(v)).collect()
}

// Arrays are read into Rill's own buffer rather than borrowed: Rill reads its tensors with the
// GIL released (fit runs for minutes) while any Python thread may write to an array it holds —
// a data race, which Rust does not allow — so the values cross once, in one (parallel) pass.
fn from_array<T: rill_core::Element + numpy::Element>(
    a: PyReadonlyArrayDyn<'_, T>,
) -> PyResult<Tensor> {
    let shape = a.shape().to_vec();
    Tensor::from_vec(values_in_c_order(&a, |v| v), &shape).map_err(errors::core)
}

/// A float64 array read straight into float32 (one pass, no intermediate array): what Keras
/// does to `train_images / 255.0` before a float32 model sees it.
fn f64_array_as_f32(a: PyReadonlyArrayDyn<'_, f64>) -> PyResult<Tensor> {
    let shape = a.shape().to_vec();
    Tensor::from_vec(values_in_c_order(&a, |v| v as f32), &shape).map_err(errors::core)
}

/// The NumPy dtype name a Rill dtype corresponds to.
pub(crate) fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F64 => "float64",
        DType::I64 => "int64",
        DType::I32 => "int32",
        DType::U8 => "uint8",
        DType::Bool => "bool",
        DType::Str => "string",
    }
}

/// A Rill dtype from a name or anything `numpy.dtype` takes (`"float32"`, `np.uint8`).
pub(crate) fn dtype_from(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    let py = obj.py();
    let name: String = match obj.extract::<String>() {
        Ok(s) => s,
        Err(_) => py
            .import("numpy")?
            .call_method1("dtype", (obj,))?
            .getattr("name")?
            .extract()?,
    };
    Ok(match name.as_str() {
        "float32" => DType::F32,
        "float64" => DType::F64,
        "int64" => DType::I64,
        "int32" => DType::I32,
        "uint8" => DType::U8,
        "bool" => DType::Bool,
        "string" | "str" | "object" => DType::Str,
        other => {
            return Err(PyTypeError::new_err(format!(
                "Rill has no dtype {other}; its dtypes are float32, float64, int64, int32, uint8, bool and string"
            )))
        }
    })
}

/// Any array-like as a tensor, and where it came from.
pub(crate) fn tensor_and_source(obj: &Bound<'_, PyAny>) -> PyResult<(Tensor, Source)> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok((t.get().tensor(), Source::Typed));
    }
    if let Ok(v) = obj.cast::<PyVariable>() {
        return Ok((v.get().variable.value(), Source::Typed));
    }
    let np = obj.py().import("numpy")?;
    let is_array = obj.is_instance(&np.getattr("ndarray")?)?;
    let arr = np.call_method1("asarray", (obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let name: String = arr.getattr("dtype")?.getattr("name")?.extract()?;
    if matches!(kind.as_str(), "U" | "S" | "O") {
        let source = if is_array {
            Source::Typed
        } else {
            Source::Python
        };
        return Ok((text_array(&arr)?, source));
    }
    // Widths Rill does not have widen to the nearest it has.
    let arr = match (kind.as_str(), name.as_str()) {
        (_, "float32" | "float64" | "int64" | "int32" | "uint8" | "bool") => arr,
        ("f", _) => arr.call_method1("astype", ("float32",))?,
        ("i" | "u", "int8" | "int16" | "uint16") => arr.call_method1("astype", ("int32",))?,
        ("i" | "u", _) => arr.call_method1("astype", ("int64",))?,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "cannot make a tensor of dtype {name}: Rill's dtypes are float32, float64, int64, int32, uint8, bool and string"
            )))
        }
    };
    let t = if let Ok(a) = arr.extract::<PyReadonlyArrayDyn<f32>>() {
        from_array(a)?
    } else if let Ok(a) = arr.extract::<PyReadonlyArrayDyn<f64>>() {
        from_array(a)?
    } else if let Ok(a) = arr.extract::<PyReadonlyArrayDyn<i64>>() {
        from_array(a)?
    } else if let Ok(a) = arr.extract::<PyReadonlyArrayDyn<i32>>() {
        from_array(a)?
    } else if let Ok(a) = arr.extract::<PyReadonlyArrayDyn<u8>>() {
        from_array(a)?
    } else if let Ok(a) = arr.extract::<PyReadonlyArrayDyn<bool>>() {
        from_array(a)?
    } else {
        return Err(PyTypeError::new_err(format!(
            "cannot read an array of dtype {name}"
        )));
    };
    Ok((
        t,
        if is_array {
            Source::Typed
        } else {
            Source::Python
        },
    ))
}

/// A NumPy array of text (`str`, `bytes` as UTF-8, or an object array of either — what
/// `np.array(["a film", …])` and pandas' text columns are) as a string tensor.
fn text_array(arr: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    // `ravel` walks the logical (C) order whatever the memory order.
    let items = arr.call_method1("ravel", ("C",))?.call_method0("tolist")?;
    let mut text = Vec::with_capacity(shape.iter().product());
    for item in items.try_iter()? {
        let item = item?;
        let s = if let Ok(s) = item.extract::<String>() {
            s
        } else if let Ok(b) = item.extract::<Vec<u8>>() {
            String::from_utf8(b).map_err(|e| {
                PyTypeError::new_err(format!("a bytes element is not UTF-8 text: {e}"))
            })?
        } else {
            return Err(PyTypeError::new_err(format!(
                "an object array becomes a string tensor only when every element is str or bytes; found {}",
                item.get_type().name()?
            )));
        };
        text.push(s);
    }
    Tensor::from_strings(text, &shape).map_err(errors::core)
}

/// Any array-like as a tensor; Python scalars and lists take TensorFlow's default dtypes
/// (float32, int32), arrays and tensors keep theirs.
pub(crate) fn tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let (t, source) = tensor_and_source(obj)?;
    match (source, t.dtype()) {
        (Source::Python, DType::F64) => t.to_dtype(DType::F32).map_err(errors::core),
        (Source::Python, DType::I64) => t.to_dtype(DType::I32).map_err(errors::core),
        _ => Ok(t),
    }
}

/// Data for a model: as [`tensor`], but float64 becomes float32 as Keras casts inputs to the
/// model's dtype, read in one pass.
pub(crate) fn model_data(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<f64>>() {
        return f64_array_as_f32(a);
    }
    let t = tensor(obj)?;
    if t.dtype() == DType::F64 {
        return t.to_dtype(DType::F32).map_err(errors::core);
    }
    Ok(t)
}

fn vec_to_array<'py, T: rill_core::Element + numpy::Element>(
    py: Python<'py>,
    t: Tensor,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = t.shape().to_vec();
    let data = t.into_vec::<T>().map_err(errors::core)?;
    Ok(PyArray1::from_vec(py, data).reshape(shape)?.into_any())
}

/// A tensor as a NumPy array of the same dtype and shape; its buffer moves into the array
/// without a copy when nothing else holds it.
pub(crate) fn to_numpy(py: Python<'_>, t: Tensor) -> PyResult<Bound<'_, PyAny>> {
    match t.dtype() {
        DType::F32 => vec_to_array::<f32>(py, t),
        DType::F64 => vec_to_array::<f64>(py, t),
        DType::I64 => vec_to_array::<i64>(py, t),
        DType::I32 => vec_to_array::<i32>(py, t),
        DType::U8 => vec_to_array::<u8>(py, t),
        DType::Bool => vec_to_array::<bool>(py, t),
        DType::Str => {
            let shape = t.shape().to_vec();
            let text = t.strings().map_err(errors::core)?;
            let np = py.import("numpy")?;
            let flat = np.call_method1("empty", (text.len(), "object"))?;
            for (i, s) in text.into_iter().enumerate() {
                flat.set_item(i, s)?;
            }
            flat.call_method1("reshape", (shape,))
        }
    }
}
