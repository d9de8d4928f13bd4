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
    // Text (a string model's inputs) stays text.
    if let Some(text) = v["data"].as_array().and_then(|d| {
        d.iter()
            .map(|s| s.as_str().map(String::from))
            .collect::<Option<Vec<String>>>()
    }) {
        if !text.is_empty() {
            return Tensor::from_strings(text, &shape).expect("the text fits the shape");
        }
    }
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

/// A tensor as the checking scripts in `tools/` read one: `{"shape": [...], "data": [...]}`.
pub fn tensor_json(t: &Tensor) -> Value {
    if let Ok(text) = t.strings() {
        return serde_json::json!({"shape": t.shape(), "data": text, "dtype": "string"});
    }
    let data = t
        .to_dtype(rill_core::DType::F32)
        .and_then(|t| t.to_vec::<f32>())
        .expect("a tensor of numbers");
    serde_json::json!({"shape": t.shape(), "data": data})
}

/// Runs `tools/{script}.py` on `cases` (written beside the files they name, in `dir`) in the
/// Python environment holding `what`, prints its report, and fails with it unless every case
/// passed — how the tests hand Rill's files to Keras 3 and onnxruntime.
pub fn check_with_python(script: &str, what: &str, dir: &Path, cases: Vec<Value>) {
    let cases_path = dir.join(format!("{script}.json"));
    std::fs::write(
        &cases_path,
        serde_json::json!({ "cases": cases }).to_string(),
    )
    .expect("the cases file is written");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tools/{script}.py"));
    let run = std::process::Command::new(python(what))
        .arg(script)
        .arg(&cases_path)
        .env("KERAS_BACKEND", "numpy")
        .output()
        .expect("Python runs");
    let report = String::from_utf8_lossy(&run.stdout);
    println!("{report}{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success(),
        "{what} disagrees with Rill:\n{report}"
    );
}

/// Random values for a model's vectors — biases, normalisation parameters and statistics,
/// constants — which start as zeros and ones, so that no weight a format gets wrong can hide
/// behind a zero or a one (variances stay positive). Kernels keep their seeded values, which
/// keep outputs at the scale of real models'.
pub fn randomise_vectors(model: &rill_nn::Model, g: &mut rill_core::Generator) {
    for (name, v) in model.named_variables() {
        if v.is_state() || v.shape().len() > 1 {
            continue; // Dropout's random state; kernels
        }
        let (lo, hi) = if name.ends_with("variance") {
            (0.5, 1.5)
        } else {
            (-0.6, 0.6)
        };
        let values = g
            .uniform(&v.shape(), lo, hi, rill_core::DType::F32)
            .expect("a shape");
        v.assign(&values).expect("the variable's shape");
    }
}
