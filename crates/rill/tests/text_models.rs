//! A model that reads raw text, end to end: `TextVectorization` adapted on a corpus, trained by
//! `fit` on strings, saved as `.rill` and `.keras` and loaded back with its vocabulary (the same
//! predictions on strings), and the `.keras` file opened by Keras 3 itself
//! (`tools/check_keras.py`), which must predict the same on the same strings; `rill predict`
//! takes the texts on its command line.

#[allow(dead_code)]
#[path = "../examples/text_classification.rs"]
mod text_classification;

use rill::nn::layers::{Dense, Embedding, GlobalAveragePooling1D, TextVectorization};
use rill::prelude::*;
use rill_test_support::fixtures::{check_with_python, tensor_json};
use serde_json::json;

#[test]
fn a_text_classifier_trains_on_strings_and_keeps_its_vocabulary_in_every_file() {
    set_seed(3);
    let (texts, labels) = text_classification::reviews(256, 3);
    let x = Tensor::from_strings(texts.clone(), &[texts.len()]).unwrap();
    let y = Tensor::from_vec(labels, &[texts.len()]).unwrap();
    let mut tv = TextVectorization::new()
        .max_tokens(40)
        .output_sequence_length(10);
    tv.adapt(&x).unwrap();
    assert!(tv.vocabulary().contains(&"great".to_string()));
    let mut model = Sequential::new(vec![
        Box::new(tv),
        Box::new(Embedding::new(40, 8)),
        Box::new(GlobalAveragePooling1D::new()),
        Box::new(Dense::new(1).activation(Activation::Sigmoid)),
    ])
    .with_input_shape(&[])
    .unwrap();
    model
        .compile(
            Adam::new(0.05),
            BinaryCrossentropy::default(),
            &["binary_accuracy"],
        )
        .unwrap();
    let history = model
        .fit(
            (x, y),
            FitConfig::default()
                .epochs(8)
                .batch_size(32)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let accuracy = history.last("binary_accuracy").unwrap();
    assert!(accuracy > 0.95, "accuracy after training: {accuracy}");

    let probe = Tensor::from_strings(
        vec!["a GREAT plot", "boring.", "", "unseen words only"],
        &[4],
    )
    .unwrap();
    let want = model.predict_on_batch(&probe).unwrap();
    let p = want.to_vec::<f32>().unwrap();
    assert!(p[0] > 0.5 && p[1] < 0.5, "predictions {p:?}");

    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for file in ["text.rill", "text.keras"] {
        let path = dir.path().join(file);
        rill::save_model(&model, &path).unwrap();
        let back = rill::load_model(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            back.predict_on_batch(&probe)
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            p,
            "{file}"
        );
        let err = back
            .predict_on_batch(&Tensor::zeros(&[2], DType::F32))
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes text"), "{file}: {err}");
    }
    // `rill predict` takes the texts themselves for a model that reads text.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(["predict", dir.path().join("text.rill").to_str().unwrap()])
        .args(["a GREAT plot", "boring.", "--json", "--top", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answers[0]["text"], "a GREAT plot");
    assert_eq!(answers[0]["top"][0]["class"], 1);
    let p0 = answers[0]["top"][0]["probability"].as_f64().unwrap();
    assert!((p0 - p[0] as f64).abs() < 1e-6, "{p0} vs {}", p[0]);
    assert_eq!(answers[1]["top"][0]["class"], 0);
    let probe_column = probe.reshape(&[4, 1]).unwrap();
    let mut out = tensor_json(&want);
    out["name"] = json!(model.output_names()[0]);
    cases.push(json!({"file": "text.keras", "inputs": {model.input_names()[0].clone(): tensor_json(&probe_column)},
                      "outputs": [out], "rtol": 1e-5, "atol": 1e-5}));
    check_with_python("check_keras", "Keras", dir.path(), cases);
}
