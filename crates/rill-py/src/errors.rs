//! Rill's errors as the Python exceptions a Keras user expects: `ValueError` for shapes and
//! bad arguments, `TypeError` for dtypes, `OSError` subclasses for files — each with Rill's
//! message.

use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyTypeError, PyValueError,
};
use pyo3::PyErr;

/// A tensor operation's error.
pub(crate) fn core(e: rill_core::Error) -> PyErr {
    match e {
        rill_core::Error::DType { .. } => PyTypeError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A model's error (building, training, data that does not fit).
pub(crate) fn nn(e: rill_nn::Error) -> PyErr {
    match e {
        rill_nn::Error::Core(c) => core(c),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A file's error: the system's reason as the matching `OSError`, a bad file as `ValueError`.
fn io(e: &std::io::Error, message: String) -> PyErr {
    match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

/// A Keras file's error.
pub(crate) fn keras(e: rill_keras::Error) -> PyErr {
    match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>()) {
        Some(source) => io(source, e.to_string()),
        None => PyValueError::new_err(e.to_string()),
    }
}

/// An ONNX file's error.
pub(crate) fn onnx(e: rill_onnx::Error) -> PyErr {
    match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>()) {
        Some(source) => io(source, e.to_string()),
        None => PyValueError::new_err(e.to_string()),
    }
}

/// A model file's error, from the one door for model files.
pub(crate) fn saving(e: rill_saving::Error) -> PyErr {
    match e.io_error() {
        Some(source) => io(source, e.to_string()),
        None => PyValueError::new_err(e.to_string()),
    }
}

/// A dataset's error (a missing or corrupt file).
pub(crate) fn data(e: rill_data::Error) -> PyErr {
    PyOSError::new_err(e.to_string())
}
