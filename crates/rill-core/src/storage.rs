//! Flat, typed element buffers. A [`Storage`] is always owned by the CPU backend; views of it
//! are described by a [`Layout`](crate::Layout).

use crate::dtype::DType;

/// A flat buffer of elements of one dtype.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
    /// i64 elements.
    I64(Vec<i64>),
    /// i32 elements.
    I32(Vec<i32>),
    /// u8 elements.
    U8(Vec<u8>),
    /// bool elements.
    Bool(Vec<bool>),
    /// UTF-8 text elements.
    Str(Vec<String>),
}

impl Storage {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
            Storage::I64(_) => DType::I64,
            Storage::I32(_) => DType::I32,
            Storage::U8(_) => DType::U8,
            Storage::Bool(_) => DType::Bool,
            Storage::Str(_) => DType::Str,
        }
    }
    /// The number of elements in the buffer.
    pub fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::F64(v) => v.len(),
            Storage::I64(v) => v.len(),
            Storage::I32(v) => v.len(),
            Storage::U8(v) => v.len(),
            Storage::Bool(v) => v.len(),
            Storage::Str(v) => v.len(),
        }
    }
    /// Whether the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
