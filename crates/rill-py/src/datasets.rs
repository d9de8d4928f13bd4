//! `rill.keras.datasets.*.load_data()`: Keras' arrays (uint8 images, uint8 labels), from the
//! files Rill finds offline (or downloads and verifies).

use crate::convert;
use crate::errors;
use pyo3::prelude::*;
use rill_core::DType;

type Pair<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// `((x_train, y_train), (x_test, y_test))` of `name` (`"fashion_mnist"` or `"mnist"`).
#[pyfunction]
pub(crate) fn load_dataset<'py>(py: Python<'py>, name: &str) -> PyResult<(Pair<'py>, Pair<'py>)> {
    let splits = py
        .detach(|| match name {
            "mnist" => rill_data::datasets::mnist::load_data(),
            _ => rill_data::datasets::fashion_mnist::load_data(),
        })
        .map_err(errors::data)?;
    let labels = |t: rill_core::Tensor| t.to_dtype(DType::U8).map_err(errors::core);
    let train_labels = labels(splits.train.labels)?;
    let test_labels = labels(splits.test.labels)?;
    Ok((
        (
            convert::to_numpy(py, splits.train.images)?,
            convert::to_numpy(py, train_labels)?,
        ),
        (
            convert::to_numpy(py, splits.test.images)?,
            convert::to_numpy(py, test_labels)?,
        ),
    ))
}
