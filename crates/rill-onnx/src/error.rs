//! What can go wrong reading or writing ONNX files.

/// An ONNX export or import error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not an ONNX model (corrupt or truncated protobuf).
    #[error("not a readable ONNX model: {0}")]
    Decode(String),
    /// A valid file using something Rill does not support (an op, an attribute, an opset).
    #[error("{0}")]
    Unsupported(String),
    /// A file whose contents contradict themselves (sizes, missing values).
    #[error("invalid ONNX model: {0}")]
    Invalid(String),
    /// A model Rill cannot express in ONNX, or a model error while building the import.
    #[error(transparent)]
    Model(#[from] rill_nn::Error),
}

impl From<rill_core::Error> for Error {
    fn from(e: rill_core::Error) -> Self {
        Error::Model(e.into())
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid(what: impl std::fmt::Display) -> Error {
    Error::Invalid(what.to_string())
}

pub(crate) fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::Unsupported(what.to_string())
}
