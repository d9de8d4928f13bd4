//! Reference values stored as JSON by the scripts in `tools/` (TensorFlow, Keras, PyTorch,
//! onnxruntime), and the Python environment that runs the outside implementations.

use rill_core::Tensor;
use serde_json::Value;
use std::path::Path;

/// A JSON fixture file.
pub fn read_json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A tensor as the fixture scripts write one: `{"shape": [...], "data": [...]}` (f32).
pub fn tensor(v: &Value) -> Tensor {
    let numbers = |key: &str| -> Vec<f64> {
        v[key]
            .as_array()
            .unwrap_or_else(|| panic!("a fixture tensor without '{key}': {v}"))
            .iter()
            .map(|d| d.as_f64().expect("a number"))
            .collect()
    };
    let shape: Vec<usize> = numbers("shape").into_iter().map(|d| d as usize).collect();
    let data: Vec<f32> = numbers("data").into_iter().map(|d| d as f32).collect();
    Tensor::from_vec(data, &shape).expect("the data fits the shape")
}

/// The Python that holds the outside implementations (`RILL_TEST_PYTHON`, which `tools/test`
/// sets after preparing `target/test-venv`); `holding` names what the test needs of it.
pub fn python(holding: &str) -> String {
    std::env::var("RILL_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "RILL_TEST_PYTHON is not set: run the tests with tools/test, which prepares the \
             Python environment holding {holding}"
        )
    })
}
