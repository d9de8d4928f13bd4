//! Tensors in and out of `TensorProto`, with every size from a file checked before anything
//! is allocated.

use crate::error::{invalid, unsupported, Result};
use crate::proto::{data_type, TensorProto};
use rill_core::Tensor;
use std::sync::Arc;

/// The most elements one constant may hold (1 Gi): a crafted `dims` cannot ask for more.
const MAX_ELEMENTS: usize = 1 << 30;

/// A constant read from a file or folded while importing: floats (weights) or integers
/// (shapes, axes, indices). Its values are shared, never copied, by every node that names it:
/// a small file may name one large constant many times.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Const {
    /// Any float type, held as f32 (Rill computes in f32).
    F32 {
        shape: Vec<usize>,
        data: Arc<Vec<f32>>,
    },
    /// Any integer or boolean type, held as i64.
    I64 {
        shape: Vec<usize>,
        data: Arc<Vec<i64>>,
    },
}

impl Const {
    /// Floats of `shape`.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Const {
        Const::F32 {
            shape,
            data: Arc::new(data),
        }
    }
    /// Integers of `shape`.
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Const {
        Const::I64 {
            shape,
            data: Arc::new(data),
        }
    }
    pub fn shape(&self) -> &[usize] {
        match self {
            Const::F32 { shape, .. } | Const::I64 { shape, .. } => shape,
        }
    }
    /// How many values it holds.
    pub fn len(&self) -> usize {
        match self {
            Const::F32 { data, .. } => data.len(),
            Const::I64 { data, .. } => data.len(),
        }
    }
    /// The same values under another shape (of as many values), shared.
    pub fn reshaped(&self, shape: Vec<usize>) -> Const {
        match self {
            Const::F32 { data, .. } => Const::F32 {
                shape,
                data: data.clone(),
            },
            Const::I64 { data, .. } => Const::I64 {
                shape,
                data: data.clone(),
            },
        }
    }
    /// The values as a Rill tensor (f32 or i64): a copy, which the caller charges to the
    /// import's [`Budget`](crate::import) first.
    pub fn to_tensor(&self) -> Result<Tensor> {
        Ok(match self {
            Const::F32 { shape, data } => Tensor::from_vec(data.to_vec(), shape)?,
            Const::I64 { shape, data } => Tensor::from_vec(data.to_vec(), shape)?,
        })
    }
    /// The values as floats (a copy).
    pub fn floats(&self) -> Vec<f32> {
        match self {
            Const::F32 { data, .. } => data.to_vec(),
            Const::I64 { data, .. } => data.iter().map(|&v| v as f32).collect(),
        }
    }
    /// The values as integers, or an error naming `what` for float data.
    pub fn ints(&self, what: &str) -> Result<&[i64]> {
        match self {
            Const::I64 { data, .. } => Ok(data),
            Const::F32 { .. } => Err(invalid(format!("{what} must be integers"))),
        }
    }
}

/// Checks `dims` and returns the shape and element count.
pub(crate) fn checked_shape(dims: &[i64], what: &str) -> Result<(Vec<usize>, usize)> {
    if dims.len() > rill_nn::layers::MAX_RANK {
        return Err(invalid(format!(
            "{what}: a shape of {} axes; Rill's tensors have at most {}",
            dims.len(),
            rill_nn::layers::MAX_RANK
        )));
    }
    let mut n = 1usize;
    let mut shape = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = usize::try_from(d).map_err(|_| invalid(format!("{what}: negative size {d}")))?;
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| invalid(format!("{what}: shape {dims:?} is too large")))?;
        shape.push(d);
    }
    Ok((shape, n))
}

fn from_raw<const W: usize, T>(
    raw: &[u8],
    n: usize,
    what: &str,
    f: fn([u8; W]) -> T,
) -> Result<Vec<T>> {
    if raw.len() != n * W {
        return Err(invalid(format!(
            "{what}: {} bytes of data for {n} values of {W} bytes",
            raw.len()
        )));
    }
    Ok(raw
        .chunks_exact(W)
        .map(|c| f(c.try_into().expect("chunks of W")))
        .collect())
}

fn exact<T: Clone>(values: &[T], n: usize, what: &str) -> Result<Vec<T>> {
    if values.len() != n {
        return Err(invalid(format!(
            "{what}: {} values for {n} elements",
            values.len()
        )));
    }
    Ok(values.to_vec())
}

/// Reads a constant. Data kept outside the file is refused (Rill loads one file).
pub(crate) fn read(t: &TensorProto) -> Result<Const> {
    let what = if t.name.is_empty() {
        "a constant"
    } else {
        &t.name
    };
    if t.data_location == 1 || !t.external_data.is_empty() {
        return Err(unsupported(format!(
            "{what}: tensor data stored outside the .onnx file is not supported; save the model with its weights inside"
        )));
    }
    let (shape, n) = checked_shape(&t.dims, what)?;
    let raw = !t.raw_data.is_empty() || n == 0;
    Ok(match t.data_type {
        data_type::FLOAT => Const::f32(
            shape,
            if raw { from_raw(&t.raw_data, n, what, f32::from_le_bytes)? } else { exact(&t.float_data, n, what)? },
        ),
        data_type::DOUBLE => Const::f32(
            shape,
            if raw {
                from_raw(&t.raw_data, n, what, f64::from_le_bytes)?.into_iter().map(|v| v as f32).collect()
            } else {
                exact(&t.double_data, n, what)?.into_iter().map(|v| v as f32).collect()
            },
        ),
        data_type::INT64 => Const::i64(
            shape,
            if raw { from_raw(&t.raw_data, n, what, i64::from_le_bytes)? } else { exact(&t.int64_data, n, what)? },
        ),
        data_type::INT32 => Const::i64(
            shape,
            if raw {
                from_raw(&t.raw_data, n, what, i32::from_le_bytes)?.into_iter().map(i64::from).collect()
            } else {
                exact(&t.int32_data, n, what)?.into_iter().map(i64::from).collect()
            },
        ),
        data_type::INT8 | data_type::UINT8 | data_type::BOOL => {
            let signed = t.data_type == data_type::INT8;
            let data: Vec<i64> = if raw {
                from_raw(&t.raw_data, n, what, |[b]: [u8; 1]| b)?
                    .into_iter()
                    .map(|b| if signed { i64::from(b as i8) } else { i64::from(b) })
                    .collect()
            } else {
                exact(&t.int32_data, n, what)?.into_iter().map(i64::from).collect()
            };
            Const::i64(shape, data)
        }
        other => {
            return Err(unsupported(format!(
                "{what}: element type {other} is not supported (float, double, int8/32/64, uint8 and bool are)"
            )))
        }
    })
}

/// A float tensor as an initializer named `name`.
pub(crate) fn write_f32(name: &str, t: &Tensor) -> Result<TensorProto> {
    let values: Vec<f32> = t.to_dtype(rill_core::DType::F32)?.to_vec()?;
    Ok(TensorProto {
        name: name.to_string(),
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    })
}

/// An int64 vector as an initializer (shapes, axes).
pub(crate) fn write_i64(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: vec![values.len() as i64],
        data_type: data_type::INT64,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float scalar or vector as an initializer.
pub(crate) fn write_floats(name: &str, shape: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}
