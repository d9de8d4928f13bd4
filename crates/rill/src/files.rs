//! Opening a model file of any format Rill reads: its own `.rill`, Keras' `.keras`, or `.onnx`.

use rill_nn::Model;
use std::path::Path;

/// Why a model file could not be opened.
#[derive(Debug)]
pub enum ModelFileError {
    /// A `.rill` file's error.
    Rill(rill_io::Error),
    /// An ONNX file's error.
    Onnx(rill_onnx::Error),
    /// A Keras file's error.
    Keras(rill_keras::Error),
}

impl std::fmt::Display for ModelFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelFileError::Rill(e) => e.fmt(f),
            ModelFileError::Onnx(e) => e.fmt(f),
            ModelFileError::Keras(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ModelFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelFileError::Rill(e) => Some(e),
            ModelFileError::Onnx(e) => Some(e),
            ModelFileError::Keras(e) => Some(e),
        }
    }
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case(ext))
}

fn is_onnx(path: &Path) -> bool {
    has_extension(path, "onnx")
}

/// Loads a model: a Keras 3 file (`.keras`), an ONNX file (`.onnx`, imported as a functional
/// graph) or a Rill model file (anything else; a `.rill` file saved from an imported ONNX model
/// loads too).
pub fn load_model(path: impl AsRef<Path>) -> Result<Model, ModelFileError> {
    let path = path.as_ref();
    if is_onnx(path) {
        return rill_onnx::load(path).map_err(ModelFileError::Onnx);
    }
    if has_extension(path, "keras") {
        return rill_keras::load_model(path).map_err(ModelFileError::Keras);
    }
    rill_onnx::register_layers();
    rill_io::load_model(path).map_err(ModelFileError::Rill)
}

/// The class names a model file stores, if any (a `.rill` file's, or an ONNX file's metadata;
/// `.keras` files hold none).
pub fn load_class_names(path: impl AsRef<Path>) -> Result<Option<Vec<String>>, ModelFileError> {
    let path = path.as_ref();
    if is_onnx(path) {
        return rill_onnx::class_names(path).map_err(ModelFileError::Onnx);
    }
    if has_extension(path, "keras") {
        return Ok(None);
    }
    rill_io::load_class_names(path).map_err(ModelFileError::Rill)
}
