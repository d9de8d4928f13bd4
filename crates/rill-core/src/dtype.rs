//! Element types: the runtime [`DType`] and the Rust types behind it.

use crate::storage::Storage;
use std::fmt;

/// The element type of a tensor, known at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float: training and inference.
    F32,
    /// 64-bit float: gradient checks and reference computations.
    F64,
    /// 64-bit signed integer: labels and indices.
    I64,
    /// 32-bit signed integer: labels and indices.
    I32,
    /// Unsigned byte: raw images.
    U8,
    /// Boolean: masks and comparison results.
    Bool,
    /// Text (UTF-8), Keras' `string`: raw inputs that preprocessing layers such as
    /// `TextVectorization` turn into numbers. No arithmetic; layout ops, selection and
    /// concatenation work on it (see [`Tensor::from_strings`](crate::Tensor::from_strings)).
    Str,
}

impl DType {
    /// Whether this is a floating-point dtype (the only ones that carry gradients).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    /// Whether this is an integer dtype.
    pub fn is_int(self) -> bool {
        matches!(self, DType::I64 | DType::I32 | DType::U8)
    }
    /// The size of one element in bytes.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::U8 | DType::Bool => 1,
            // What a tensor holds per element (the text itself lives behind it).
            DType::Str => std::mem::size_of::<String>(),
        }
    }
    /// The lower-case name used in messages and files: `f32`, `i64`...
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::U8 => "u8",
            DType::Bool => "bool",
            DType::Str => "string",
        }
    }
    /// Parses a name produced by [`DType::name`].
    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "f32" => DType::F32,
            "f64" => DType::F64,
            "i64" => DType::I64,
            "i32" => DType::I32,
            "u8" => DType::U8,
            "bool" => DType::Bool,
            "string" => DType::Str,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that can be a tensor element.
pub trait Element: Copy + Send + Sync + PartialOrd + fmt::Debug + Default + 'static {
    /// The runtime dtype of this type.
    const DTYPE: DType;
    /// Wraps a vector of this type as storage.
    fn into_storage(data: Vec<Self>) -> Storage;
    /// The storage's elements, if it holds this type.
    fn slice(storage: &Storage) -> Option<&[Self]>;
    /// The storage's elements, mutably, if it holds this type.
    fn slice_mut(storage: &mut Storage) -> Option<&mut [Self]>;
    /// The storage's buffer, if it holds this type.
    fn from_storage(storage: Storage) -> Option<Vec<Self>>;
    /// Converts to f64 (exact for every type but large i64).
    fn to_f64(self) -> f64;
    /// Converts from f64 the way `as` does (saturating, truncating toward zero).
    fn from_f64(v: f64) -> Self;
}

macro_rules! element {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn into_storage(data: Vec<Self>) -> Storage {
                Storage::$variant(data)
            }
            fn slice(storage: &Storage) -> Option<&[Self]> {
                match storage {
                    Storage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(storage: &mut Storage) -> Option<&mut [Self]> {
                match storage {
                    Storage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn from_storage(storage: Storage) -> Option<Vec<Self>> {
                match storage {
                    Storage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn to_f64(self) -> f64 {
                let f: fn($t) -> f64 = $to;
                f(self)
            }
            fn from_f64(v: f64) -> Self {
                let f: fn(f64) -> $t = $from;
                f(v)
            }
        }
    };
}

element!(f32, F32, |x| x as f64, |v| v as f32);
element!(f64, F64, |x| x, |v| v);
element!(i64, I64, |x| x as f64, |v| v as i64);
element!(i32, I32, |x| x as f64, |v| v as i32);
element!(u8, U8, |x| x as f64, |v| v as u8);
element!(bool, Bool, |x| if x { 1.0 } else { 0.0 }, |v| v != 0.0);

/// A floating-point element: the types that kernels compute with and gradients flow through.
pub trait FloatElement:
    Element + num_traits::Float + std::iter::Sum + std::ops::AddAssign + std::ops::MulAssign
{
    /// The Gauss error function (for GELU).
    fn erf(self) -> Self;
}

impl FloatElement for f32 {
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl FloatElement for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
}

/// Runs `$body` with `$T` bound to the float type behind `$dtype`; other dtypes are an error of `$op`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_float {
    ($dtype:expr, $op:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            other => Err($crate::Error::dtype(
                $op,
                format!("expected a float tensor (f32 or f64), found {other}"),
            )),
        }
    };
}

/// Runs `$body` with `$T` bound to the Rust type behind any numeric or bool `$dtype`, and
/// `$text` for string tensors (whose elements are not `Copy`, so no generic kernel takes them).
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_any {
    ($dtype:expr, $T:ident => $body:expr, string => $text:expr) => {
        match $dtype {
            $crate::DType::Str => $text,
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}
