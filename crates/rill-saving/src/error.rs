//! Why a model file could not be read or written, by format.

use std::path::PathBuf;

/// A model file's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `.rill` file's error.
    #[error(transparent)]
    Rill(rill_io::Error),
    /// An ONNX file's error.
    #[error(transparent)]
    Onnx(rill_onnx::Error),
    /// A Keras file's error.
    #[error(transparent)]
    Keras(rill_keras::Error),
    /// The path's extension names no format Rill knows.
    #[error("{}: {}", path.display(), crate::format::unknown_extension_help())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The format cannot do what was asked (a weights file holds no architecture to load).
    #[error("{}: {message}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What it cannot do, and what to do instead.
        message: String,
    },
}

impl Error {
    /// The `std::io::Error` underneath, when the file itself could not be read or written.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            Error::Rill(rill_io::Error::Io { source, .. }) => Some(source),
            Error::Onnx(e) => std::error::Error::source(e)?.downcast_ref(),
            Error::Keras(e) => std::error::Error::source(e)?.downcast_ref(),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
