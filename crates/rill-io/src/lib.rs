//! # rill-io
//!
//! Model files. [`save_model`] writes one file holding the architecture (versioned JSON) and
//! every weight (safetensors), with a SHA-256 of the weights; [`load_model`] checks the format,
//! version and checksum and rebuilds the model. [`save_weights`] / [`load_weights`] do the
//! weights alone. Every write goes to a temporary file that is renamed into place, so a crash
//! mid-save never leaves a broken model behind.
//!
//! ```
//! use rill_nn::prelude::*;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("model.rill");
//! let mut model = Sequential::new(vec![Box::new(Dense::new(3))]).with_input_shape(&[4])?;
//! rill_io::save_model(&model, &path)?;
//! let mut again = rill_io::load_model(&path)?;
//! let x = Tensor::ones(&[2, 4], DType::F32);
//! assert_eq!(model.predict(&x, 2)?.to_vec::<f32>()?, again.predict(&x, 2)?.to_vec::<f32>()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod bounded_read;
mod callbacks;
mod file;

pub use bounded_read::read_bounded;
pub use callbacks::{BackupAndRestore, ModelCheckpoint};
pub use file::{
    load_class_names, load_model, load_model_bytes, load_model_with_class_names, load_weights,
    save_model, save_model_with, save_model_with_classes, save_weights, write_atomically,
    SaveOptions, FORMAT_VERSION,
};

use std::path::PathBuf;

/// What went wrong while saving or loading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file is not a valid Rill file, or does not fit the model.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model could not be described or rebuilt.
    #[error(transparent)]
    Model(#[from] rill_nn::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
