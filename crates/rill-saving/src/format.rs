//! [`ModelFormat`]: which reader and writer a model file goes through.

use crate::{Error, Result};
use rill_nn::Model;
use std::path::Path;

/// A model file format Rill reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFormat {
    /// Rill's own file (`.rill`): architecture, weights, class names and, for a compiled model,
    /// the compile settings and optimizer state, checked by SHA-256.
    Rill,
    /// A Keras 3 file (`.keras`), which Keras itself opens.
    Keras,
    /// An ONNX file (`.onnx`, opset 17 written; 11–21 read), for onnxruntime and friends.
    Onnx,
    /// Keras' weights file (`.weights.h5`): the weights alone, for a model of the same
    /// architecture.
    KerasWeights,
}

impl ModelFormat {
    /// Every format, in the order error messages list them.
    pub const ALL: [ModelFormat; 4] = [
        ModelFormat::Rill,
        ModelFormat::Keras,
        ModelFormat::Onnx,
        ModelFormat::KerasWeights,
    ];

    /// The extension that names the format, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            ModelFormat::Rill => ".rill",
            ModelFormat::Keras => ".keras",
            ModelFormat::Onnx => ".onnx",
            ModelFormat::KerasWeights => ".weights.h5",
        }
    }

    /// The format's name, as [`ModelFormat::from_name`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Rill => "rill",
            ModelFormat::Keras => "keras",
            ModelFormat::Onnx => "onnx",
            ModelFormat::KerasWeights => "keras-weights",
        }
    }

    /// The format `path`'s extension names (in any case), or an error listing the known ones.
    pub fn from_path(path: &Path) -> Result<ModelFormat> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|f| name.ends_with(f.extension()) && name.len() > f.extension().len())
            .ok_or_else(|| Error::UnknownFormat {
                path: path.to_path_buf(),
            })
    }

    /// The format called `name` (`rill`, `keras`, `onnx`, `keras-weights`; any case).
    pub fn from_name(name: &str) -> Option<ModelFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Loads the model a file of this format holds.
    pub fn load(self, path: &Path) -> Result<Model> {
        match self {
            ModelFormat::Rill => {
                // A `.rill` file saved from an imported ONNX model uses ONNX's layers.
                rill_onnx::register_layers();
                rill_io::load_model(path).map_err(Error::Rill)
            }
            ModelFormat::Keras => rill_keras::load_model(path).map_err(Error::Keras),
            ModelFormat::Onnx => rill_onnx::load(path).map_err(Error::Onnx),
            ModelFormat::KerasWeights => Err(self.weights_only(path)),
        }
    }

    /// [`ModelFormat::load`] and the class names the file stores, from one read.
    pub fn load_with_class_names(self, path: &Path) -> Result<(Model, Option<Vec<String>>)> {
        match self {
            ModelFormat::Rill => {
                rill_onnx::register_layers();
                rill_io::load_model_with_class_names(path).map_err(Error::Rill)
            }
            ModelFormat::Onnx => rill_onnx::load_with_class_names(path).map_err(Error::Onnx),
            ModelFormat::Keras | ModelFormat::KerasWeights => Ok((self.load(path)?, None)),
        }
    }

    /// The class names a file of this format stores, if any.
    pub fn class_names(self, path: &Path) -> Result<Option<Vec<String>>> {
        match self {
            ModelFormat::Rill => rill_io::load_class_names(path).map_err(Error::Rill),
            ModelFormat::Onnx => rill_onnx::class_names(path).map_err(Error::Onnx),
            ModelFormat::Keras | ModelFormat::KerasWeights => Ok(None),
        }
    }

    /// Writes `model` in this format, with the class names where the format holds them.
    pub fn save(self, model: &Model, path: &Path, class_names: Option<&[String]>) -> Result<()> {
        match self {
            ModelFormat::Rill => {
                let include_optimizer = model.training_config().is_ok_and(|c| c.is_some());
                let options = rill_io::SaveOptions {
                    include_optimizer,
                    class_names: class_names.map(<[String]>::to_vec),
                };
                rill_io::save_model_with(model, path, &options).map_err(Error::Rill)
            }
            ModelFormat::Keras => rill_keras::save_model(model, path).map_err(Error::Keras),
            ModelFormat::Onnx => {
                let options = rill_onnx::ExportOptions {
                    class_names: class_names.map(<[String]>::to_vec),
                };
                rill_onnx::export(model, path, &options).map_err(Error::Onnx)
            }
            ModelFormat::KerasWeights => {
                rill_keras::save_weights(model, path).map_err(Error::Keras)
            }
        }
    }

    fn weights_only(self, path: &Path) -> Error {
        Error::Unsupported {
            path: path.to_path_buf(),
            message: format!(
                "a {} file holds weights only; build the model and load them with load_weights",
                self.extension()
            ),
        }
    }
}

impl std::fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an unknown extension's error says: every format's extension.
pub(crate) fn unknown_extension_help() -> String {
    let known: Vec<String> = ModelFormat::ALL
        .iter()
        .map(|f| format!("{} ({})", f.extension(), f.name()))
        .collect();
    format!(
        "the extension names no model format; Rill reads and writes {}",
        known.join(", ")
    )
}
