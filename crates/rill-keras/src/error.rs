//! What can go wrong reading or writing `.keras` files.

/// A Keras file error.
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
    /// Not a `.keras` archive, or one with a broken part.
    #[error("not a readable .keras file: {0}")]
    Format(String),
    /// A valid file using something Rill does not have (a layer, an argument value).
    #[error("{0}")]
    Unsupported(String),
    /// A model error while building the model or reading its weights.
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

pub(crate) fn format(what: impl std::fmt::Display) -> Error {
    Error::Format(what.to_string())
}

pub(crate) fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::Unsupported(what.to_string())
}
