//! The one error type of `rill-core`.

use std::fmt;

/// What went wrong in a tensor operation.
///
/// Every message names the operation and says what was expected and what was found, e.g.
/// `matmul: inner dimensions differ: [32, 784] x [785, 128]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Shapes that the operation cannot combine.
    #[error("{op}: {message}")]
    Shape {
        /// The operation that refused the shapes.
        op: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// A dtype the operation does not accept.
    #[error("{op}: {message}")]
    DType {
        /// The operation that refused the dtype.
        op: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// An argument outside its valid range (an axis, an index, a rate...).
    #[error("{op}: {message}")]
    Invalid {
        /// The operation that refused the argument.
        op: &'static str,
        /// What was expected and what was found.
        message: String,
    },
}

impl Error {
    /// A shape error for `op`.
    pub fn shape(op: &'static str, message: impl Into<String>) -> Self {
        Error::Shape {
            op,
            message: message.into(),
        }
    }
    /// A dtype error for `op`.
    pub fn dtype(op: &'static str, message: impl Into<String>) -> Self {
        Error::DType {
            op,
            message: message.into(),
        }
    }
    /// An invalid-argument error for `op`.
    pub fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            op,
            message: message.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Formats a shape the way error messages show it: `[32, 784]`.
pub(crate) struct ShapeDisplay<'a>(pub &'a [usize]);

impl fmt::Display for ShapeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
