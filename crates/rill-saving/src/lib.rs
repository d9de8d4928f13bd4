//! # rill-saving
//!
//! One door for model files, as Keras' `saving_api` is: [`ModelFormat`] names the formats Rill
//! reads and writes — its own `.rill`, Keras 3's `.keras`, ONNX's `.onnx` and Keras'
//! `.weights.h5` — and picks one from a file's extension, or by name. [`load_model`] and
//! [`save_model`] agree for every extension; an extension no format has is an error that lists
//! the known ones. The facade (`rill::load_model`, `rill::prelude::save_model`), the CLI, the
//! Python package, `rill serve` and [`checkpoint`] all come through here.
//!
//! ```
//! use rill_nn::prelude::*;
//! let dir = tempfile::tempdir()?;
//! let model = Sequential::new(vec![Box::new(Dense::new(3))]).with_input_shape(&[4])?;
//! let x = Tensor::ones(&[2, 4], DType::F32);
//! for name in ["m.rill", "m.keras", "m.onnx"] {
//!     let path = dir.path().join(name);
//!     rill_saving::save_model(&model, &path)?;
//!     let again = rill_saving::load_model(&path)?;
//!     assert_eq!(again.predict(&x, 2)?.to_vec::<f32>()?, model.predict(&x, 2)?.to_vec::<f32>()?);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod error;
mod format;

pub use error::{Error, Result};
pub use format::ModelFormat;

use rill_nn::Model;
use std::path::Path;

/// Loads a model in the format its extension names.
pub fn load_model(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    ModelFormat::from_path(path)?.load(path)
}

/// Loads a model and the class names its file stores (a `.rill` file's, or an ONNX file's
/// metadata; `.keras` files hold none), from one read of the file.
pub fn load_model_with_class_names(path: impl AsRef<Path>) -> Result<(Model, Option<Vec<String>>)> {
    let path = path.as_ref();
    ModelFormat::from_path(path)?.load_with_class_names(path)
}

/// The class names a model file stores, if any.
pub fn load_class_names(path: impl AsRef<Path>) -> Result<Option<Vec<String>>> {
    let path = path.as_ref();
    ModelFormat::from_path(path)?.class_names(path)
}

/// Saves a model in the format its extension names: architecture and weights (and, for a
/// compiled model saved as `.rill` or `.keras`, how it was compiled), or the weights alone
/// for `.weights.h5`.
pub fn save_model(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    ModelFormat::from_path(path)?.save(model, path, None)
}

/// [`save_model`] recording the name of each output class, where the format holds them
/// (`.rill`, `.onnx`).
pub fn save_model_with_classes(
    model: &Model,
    class_names: Option<&[String]>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    ModelFormat::from_path(path)?.save(model, path, class_names)
}

/// Loads weights into `model` from a file of its own architecture: Keras weights
/// (`.weights.h5`), a Rill weights file (what [`ModelFiles::save_weights`] writes for any other
/// name), or any model file whose weights fit.
pub fn load_weights(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let copy_from = |source: Model| {
        model
            .set_weights(&source.get_weights())
            .map_err(|e| Error::Rill(e.into()))
    };
    match ModelFormat::from_path(path) {
        Ok(ModelFormat::KerasWeights) => {
            rill_keras::load_weights(model, path).map_err(Error::Keras)
        }
        Ok(ModelFormat::Rill) => rill_io::load_weights(model, path).or_else(|e| {
            // Not a weights file: a whole `.rill` model whose weights fit.
            copy_from(ModelFormat::Rill.load(path).map_err(|_| Error::Rill(e))?)
        }),
        Ok(other) => copy_from(other.load(path)?),
        Err(_) => rill_io::load_weights(model, path).map_err(Error::Rill),
    }
}

/// Keras' `ModelCheckpoint`, writing each checkpoint through this door, as `model.save` does:
/// a `.keras` path gets a Keras file, `.rill` Rill's own (with the compile settings and
/// optimizer state of a compiled model, so the checkpoint loads compiled and resumes),
/// `.onnx` an ONNX file, `.weights.h5` the weights. The path takes Keras' placeholders
/// (`{epoch:02d}`, `{val_loss:.2f}`).
///
/// ```
/// use rill_saving::ModelCheckpoint;
/// let best = ModelCheckpoint::new("out/model-{epoch:02d}.keras")
///     .monitor("val_accuracy")
///     .save_best_only(true);
/// ```
pub struct ModelCheckpoint(rill_io::ModelCheckpoint);

impl ModelCheckpoint {
    /// Saves to `path` after every epoch, watching `val_loss`. An extension no format has is
    /// an error at the first save; [`checkpoint`] checks it at once.
    pub fn new(path: impl Into<String>) -> Self {
        ModelCheckpoint(rill_io::ModelCheckpoint::new(path).with_saver(|model, p| {
            save_model(model, p).map_err(|e| rill_nn::Error::Config(e.to_string()))
        }))
    }
    /// Watches `monitor` instead of `val_loss`.
    pub fn monitor(self, monitor: &str) -> Self {
        ModelCheckpoint(self.0.monitor(monitor))
    }
    /// Which direction is better (default: from the monitor's name).
    pub fn mode(self, mode: rill_nn::callbacks::Mode) -> Self {
        ModelCheckpoint(self.0.mode(mode))
    }
    /// Saves only when the monitored value improves on the best so far.
    pub fn save_best_only(self, on: bool) -> Self {
        ModelCheckpoint(self.0.save_best_only(on))
    }
}

impl std::fmt::Debug for ModelCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl rill_nn::callbacks::Callback for ModelCheckpoint {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &rill_nn::Logs,
        model: &mut Model,
    ) -> rill_nn::Result<()> {
        self.0.on_epoch_end(epoch, logs, model)
    }
}

/// [`ModelCheckpoint::new`] with the path's extension checked now, not at the end of the first
/// epoch.
pub fn checkpoint(path: impl Into<String>) -> Result<ModelCheckpoint> {
    let path = path.into();
    // `{epoch:02d}` and the like stand in the name, never in the extension.
    ModelFormat::from_path(Path::new(&path))?;
    Ok(ModelCheckpoint::new(path))
}

/// `model.save(path)`, `model.save_weights(path)` and `model.load_weights(path)` as methods
/// (in `rill::prelude`), each through this door: the extension picks the format.
pub trait ModelFiles {
    /// Saves architecture and weights: [`save_model`].
    fn save(&self, path: impl AsRef<Path>) -> Result<()>;
    /// Saves the weights alone: Keras weights for `.weights.h5`, else a Rill weights file.
    fn save_weights(&self, path: impl AsRef<Path>) -> Result<()>;
    /// Loads weights into this model: [`load_weights`].
    fn load_weights(&self, path: impl AsRef<Path>) -> Result<()>;
}

impl ModelFiles for Model {
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_model(self, path)
    }
    fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match ModelFormat::from_path(path) {
            Ok(ModelFormat::KerasWeights) => {
                rill_keras::save_weights(self, path).map_err(Error::Keras)
            }
            _ => rill_io::save_weights(self, path).map_err(Error::Rill),
        }
    }
    fn load_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        load_weights(self, path)
    }
}
