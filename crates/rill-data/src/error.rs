use std::path::PathBuf;

/// What went wrong while reading or fetching data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A file was read but its contents are not what they should be.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
    /// A dataset is nowhere to be found and could not be downloaded.
    #[error("{0}")]
    NotFound(String),
    /// A download failed or did not match its checksum.
    #[error("download of {url}: {message}")]
    Download {
        /// What was fetched.
        url: String,
        /// Why it failed.
        message: String,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Core(#[from] rill_core::Error),
    /// A pipeline stage failed.
    #[error("{0}")]
    Pipeline(String),
}

impl Error {
    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
