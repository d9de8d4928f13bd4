//! # rill-viz
//!
//! The pictures of the Keras tutorial, rendered in Rust as PNG files with a bundled font (no
//! system fonts needed): image grids with captions ([`image_grid`]), a prediction beside its
//! probability bars ([`prediction_grid`]), training curves ([`training_curves`]) and a
//! confusion-matrix heat map ([`confusion_matrix`]). Every file is written atomically.

#![warn(missing_docs)]

mod canvas;
mod confusion;
mod curves;
mod grid;

pub use confusion::confusion_matrix;
pub use curves::training_curves;
pub use grid::{image_grid, prediction_grid, Prediction, Tile};

/// What went wrong while drawing or saving a picture.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The drawing library failed.
    #[error("drawing {what}: {message}")]
    Draw {
        /// The picture.
        what: String,
        /// The library's message.
        message: String,
    },
    /// The PNG could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The data to draw is inconsistent.
    #[error("{0}")]
    Input(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Blue for a right prediction, as the tutorial draws it.
pub const RIGHT: (u8, u8, u8) = (31, 119, 180);
/// Red for a wrong prediction.
pub const WRONG: (u8, u8, u8) = (214, 39, 40);
