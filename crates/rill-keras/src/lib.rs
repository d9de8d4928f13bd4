//! Keras 3 `.keras` files in and out.
//!
//! - [`load_model`] reads a `.keras` file saved by Keras 3 (`model.save("m.keras")`, from
//!   TensorFlow or any Keras backend) as a Rill [`Model`](rill_nn::Model): Sequential and
//!   Functional models of the Keras layers Rill has, every argument that changes what a layer
//!   computes checked, weights read from `model.weights.h5` with a pure-Rust HDF5 reader.
//! - [`save_model`] writes a Rill model as a `.keras` file that `keras.saving.load_model`
//!   opens.
//! - [`load_weights`] and [`save_weights`] read and write Keras 3 `.weights.h5` files
//!   (`model.save_weights` / `model.load_weights`) for a model of the same architecture.

#![warn(missing_docs)]

mod archive;
mod config_in;
mod config_out;
mod error;
mod h5;

pub use config_in::new_layer;
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
    // The layers the config describes may allocate no more than the file holds.
    let budget = rill_nn::initializers::file_budget(weights.total_values());
    rill_nn::initializers::with_weight_budget(budget, || {
        config_in::model(&parts.config, weights, &parts.assets)
    })
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

/// The model's layers in Keras' order — (class, name), inputs included — and whether it is a
/// Sequential model: what Keras' weight keys are counted over.
pub(crate) fn layer_order(model: &rill_nn::Model) -> Result<(Vec<(String, String)>, bool)> {
    let view = model.graph_view()?;
    let order = view
        .nodes
        .iter()
        .map(|n| {
            let class = match &n.op {
                rill_nn::NodeOp::Input(_) => "InputLayer",
                rill_nn::NodeOp::Layer(l) => l.kind(),
            };
            (class.to_string(), n.name.to_string())
        })
        .collect();
    let sequential = model.get_config()?["class_name"] == "Sequential";
    Ok((order, sequential))
}

/// Loads a Keras 3 `.weights.h5` file (Keras' `model.save_weights`, or the `model.weights.h5`
/// inside a `.keras` file) into a model of the same architecture, layer by layer, every shape
/// checked.
pub fn load_weights(model: &rill_nn::Model, path: impl AsRef<Path>) -> Result<()> {
    let weights = h5::read(archive::read_file(path.as_ref())?)?;
    let (order, sequential) = layer_order(model)?;
    config_in::assign_weights(model, &order, weights, sequential)
}

/// Writes the model's weights as a Keras 3 `.weights.h5` file, which Keras'
/// `model.load_weights` reads into the same architecture.
pub fn save_weights(model: &rill_nn::Model, path: impl AsRef<Path>) -> Result<()> {
    let (_, layers) = config_out::model(model)?;
    let bytes = h5::write(model.name(), &layers)?;
    let path = path.as_ref();
    rill_io::write_atomically(path, &bytes).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
