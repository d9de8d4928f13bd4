//! Keras 3 `.keras` files in and out.
//!
//! - [`load_model`] reads a `.keras` file saved by Keras 3 (`model.save("m.keras")`, from
//!   TensorFlow or any Keras backend) as a Rill [`Model`](rill_nn::Model): Sequential and
//!   Functional models of the Keras layers Rill has, every argument that changes what a layer
//!   computes checked, weights read from `model.weights.h5` with a pure-Rust HDF5 reader.
//! - [`save_model`] writes a Rill model as a `.keras` file that `keras.saving.load_model`
//!   opens.

mod archive;
mod config_in;
mod config_out;
mod error;
mod h5;

pub use error::{Error, Result};

use std::path::Path;

/// Reads a `.keras` file as a Rill model (uncompiled; compile it to evaluate or train).
pub fn load_model(path: impl AsRef<Path>) -> Result<rill_nn::Model> {
    load_bytes(&archive::read_file(path.as_ref())?)
}

/// Reads a `.keras` file's bytes as a Rill model.
pub fn load_bytes(bytes: &[u8]) -> Result<rill_nn::Model> {
    let parts = archive::read(bytes)?;
    let weights = h5::read(parts.weights)?;
    config_in::model(&parts.config, weights)
}

/// Writes a Rill model as a Keras 3 `.keras` file (architecture and weights; the optimizer
/// state is not written).
pub fn save_model(model: &rill_nn::Model, path: impl AsRef<Path>) -> Result<()> {
    let (config, layers) = config_out::model(model)?;
    let weights = h5::write(model.name(), &layers)?;
    let metadata = serde_json::json!({"keras_version": config_out::KERAS_VERSION, "date_saved": "", "producer": "rill"});
    archive::write(
        path.as_ref(),
        &metadata.to_string(),
        &config.to_string(),
        &weights,
    )
}
