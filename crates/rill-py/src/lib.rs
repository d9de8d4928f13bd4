//! The native half of Rill's Python package (`rill._rill`): tensors with NumPy in and out,
//! gradients, models, training and data, over Rill's crates. The Keras-shaped API users import
//! (`rill.keras.*`) is the Python half, in `python/rill/`.

mod convert;
mod datasets;
mod errors;
mod fit;
mod model;
mod ops;
mod tape;
mod tensor;
mod training_objects;
mod variable;

use pyo3::prelude::*;
use std::sync::Arc;

/// The module `rill._rill`.
#[pymodule]
fn _rill(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Progress bars go to Python's sys.stdout, which a notebook shows and Rust's stdout is not.
    rill_nn::set_progress_output(Some(Arc::new(fit::PythonStdout::new())));
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<variable::PyVariable>()?;
    m.add_class::<tape::GradientTape>()?;
    m.add_class::<model::PyModel>()?;
    m.add_class::<model::GraphBuilder>()?;
    m.add_class::<training_objects::PyOptimizer>()?;
    m.add_class::<training_objects::PyLoss>()?;
    m.add_class::<training_objects::PyMetric>()?;
    m.add_function(wrap_pyfunction!(model::keras_layer_forms, m)?)?;
    m.add_function(wrap_pyfunction!(model::adapt_layer, m)?)?;
    m.add_function(wrap_pyfunction!(model::layer_vocabulary, m)?)?;
    m.add_function(wrap_pyfunction!(ops::unary, m)?)?;
    m.add_function(wrap_pyfunction!(ops::binary, m)?)?;
    m.add_function(wrap_pyfunction!(ops::reduce, m)?)?;
    m.add_function(wrap_pyfunction!(ops::arg, m)?)?;
    m.add_function(wrap_pyfunction!(ops::softmax, m)?)?;
    m.add_function(wrap_pyfunction!(ops::reshape, m)?)?;
    m.add_function(wrap_pyfunction!(ops::transpose, m)?)?;
    m.add_function(wrap_pyfunction!(ops::cast, m)?)?;
    m.add_function(wrap_pyfunction!(ops::join, m)?)?;
    m.add_function(wrap_pyfunction!(ops::one_hot, m)?)?;
    m.add_function(wrap_pyfunction!(ops::where_, m)?)?;
    m.add_function(wrap_pyfunction!(ops::clip, m)?)?;
    m.add_function(wrap_pyfunction!(ops::full, m)?)?;
    m.add_function(wrap_pyfunction!(ops::random, m)?)?;
    m.add_function(wrap_pyfunction!(ops::set_seed, m)?)?;
    m.add_function(wrap_pyfunction!(ops::slice, m)?)?;
    m.add_function(wrap_pyfunction!(ops::gather, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::load_dataset, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
