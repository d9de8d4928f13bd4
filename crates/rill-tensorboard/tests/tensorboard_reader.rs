//! A short training run with the TensorBoard callback, read back by TensorBoard itself
//! (tools/check_tensorboard.py: EventAccumulator and a TensorBoard server on loopback), with
//! the Python environment that `tools/test` prepares.

use rill_core::{set_seed, DType, Generator, Tensor};
use rill_nn::prelude::*;
use rill_tensorboard::{TensorBoard, UpdateFreq};
use rill_test_support::fixtures::python;
use serde_json::json;
use std::path::Path;
use std::process::Command;

#[test]
fn tensorboard_reads_every_scalar_histogram_image_and_the_graph() {
    set_seed(12);
    let mut g = Generator::new(4);
    let n = 96;
    let x = g.uniform(&[n, 4], -1.0, 1.0, DType::F32).unwrap();
    let y: Vec<i64> = x
        .to_vec::<f32>()
        .unwrap()
        .chunks(4)
        .map(|r| (r[0] + r[1] > 0.0) as i64)
        .collect();
    let y = Tensor::from_vec(y, &[n]).unwrap();
    let mut b = FunctionalBuilder::new();
    let input = b.input_named("features", &[4]).unwrap();
    let h = b
        .layer(Dense::new(8).activation(Activation::Relu), input)
        .unwrap();
    let skip = b.merge(Concatenate, &[h, input]).unwrap();
    let out = b.layer_named("head", Dense::new(2), skip).unwrap();
    let mut model = b.build(&[input], &[out]).unwrap();
    model
        .compile(
            Adam::new(0.01),
            SparseCategoricalCrossentropy::from_logits(),
            &["accuracy"],
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let tb = TensorBoard::new(&logs)
        .histogram_freq(1)
        .write_images(true)
        .update_freq(UpdateFreq::Every(2))
        .profile_batch(2, 3);
    let (epochs, batch) = (3, 12);
    let history = model
        .fit(
            (&x, &y),
            FitConfig::default()
                .epochs(epochs)
                .batch_size(batch)
                .validation_split(0.25)
                .callback(tb)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let steps_per_epoch = (n - n / 4).div_ceil(batch);
    let weights: serde_json::Map<_, _> = model
        .named_variables()
        .into_iter()
        .map(|(name, v)| (name, json!(v.value().to_f64_vec())))
        .collect();
    let expected = json!({
        "history": history.history,
        "steps_per_epoch": steps_per_epoch,
        "learning_rate": 0.01,
        "batch_steps": (1..=epochs * steps_per_epoch).filter(|s| s % 2 == 0).collect::<Vec<_>>(),
        "weights": weights,
        // Dense kernels [in, out] are drawn with the longer side across; biases as one row.
        "images": {"dense/kernel": [4, 8], "dense/bias": [1, 8], "head/kernel": [2, 12], "head/bias": [1, 2]},
        "graph": {
            "functional/features": [],
            "functional/dense": ["functional/features"],
            "functional/concatenate": ["functional/dense", "functional/features"],
            "functional/head": ["functional/concatenate"],
        },
    });
    check_trace(&logs);
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, expected.to_string()).unwrap();
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/check_tensorboard.py");
    let out = Command::new(python("TensorBoard"))
        .arg(checker)
        .arg(&logs)
        .arg(&expected_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "TensorBoard disagrees:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The trace of steps 2 and 3: Chrome's Trace Event JSON, gzipped, with the ops and the two
/// optimizer steps on one named track.
fn check_trace(logs: &Path) {
    let runs: Vec<_> = std::fs::read_dir(logs.join("plugins/profile"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let files: Vec<_> = std::fs::read_dir(&runs[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.len() == 1 && files[0].to_string_lossy().ends_with(".trace.json.gz"),
        "{files:?}"
    );
    let mut json = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&files[0]).unwrap()),
        &mut json,
    )
    .unwrap();
    let trace: serde_json::Value = serde_json::from_str(&json).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let complete: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
    let named = |n: &str| complete.iter().filter(|e| e["name"] == n).count();
    assert_eq!(named("optimizer"), 2, "two traced steps");
    assert!(named("matmul") >= 2);
    assert!(complete
        .iter()
        .all(|e| e["dur"].as_f64().unwrap() >= 0.0 && e["tid"] == 1 && e["pid"] == 1));
    assert!(events
        .iter()
        .any(|e| e["ph"] == "M" && e["name"] == "thread_name"));
}
