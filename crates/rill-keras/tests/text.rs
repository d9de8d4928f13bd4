//! Raw text in, as Keras reads it: `TextVectorization` built from Keras' own arguments and
//! adapted on the same corpus learns Keras' vocabulary and gives Keras' outputs in every output
//! mode (`tools/make_keras_fixtures.py text`), and a `.keras` model Keras saved with an adapted
//! layer (its vocabulary in the file's assets) reads text as Keras does.

use rill_core::{DType, Tensor};
use rill_nn::layers::{keras_form, KerasArgs, Layer};
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn record() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("text.json")).unwrap()).unwrap()
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn text_vectorization_learns_keras_vocabulary_and_gives_its_outputs_in_every_mode() {
    let rec = record();
    let corpus = texts(&rec["corpus"]);
    let probes = texts(&rec["probes"]);
    let n = probes.len();
    let corpus = Tensor::from_strings(corpus.clone(), &[corpus.len()]).unwrap();
    let probes = Tensor::from_strings(probes, &[n, 1]).unwrap();
    let form = keras_form("TextVectorization").unwrap();
    for case in rec["modes"].as_array().unwrap() {
        let args = case["args"].as_object().unwrap();
        let config = (form.from_keras)(&mut KerasArgs::new("TextVectorization", "tv", args), 1)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let mut tv: rill_nn::layers::TextVectorization = serde_json::from_value(config)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                <rill_nn::layers::TextVectorization as rill_nn::layers::Configurable>::from_config(
                    c,
                )
                .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        tv.adapt(&corpus).unwrap();
        assert_eq!(tv.vocabulary(), texts(&case["vocabulary"]), "{args:?}");
        let got = tv.call(&probes, false).unwrap();
        let want: Vec<Vec<f64>> = serde_json::from_value(case["outputs"].clone()).unwrap();
        let want_flat: Vec<f64> = want.iter().flatten().copied().collect();
        assert_eq!(got.shape(), &[n, want[0].len()], "{args:?}");
        let expect_dtype = if args["output_mode"] == "int" {
            DType::I64
        } else {
            DType::F32
        };
        assert_eq!(got.dtype(), expect_dtype, "{args:?}");
        for (a, b) in got.to_f64_vec().iter().zip(&want_flat) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{args:?}: Rill {a}, Keras {b}"
            );
        }
        assert_eq!(
            tv.compute_output_shape(&[1]).unwrap(),
            &got.shape()[1..],
            "{args:?}: shape rule"
        );
    }
}

#[test]
fn a_keras_text_model_reads_raw_strings_with_the_vocabulary_from_its_assets() {
    let model = rill_keras::load_model(fixture("text.keras")).unwrap();
    let rec = record();
    let input = &rec["inputs"]["review"];
    let x = Tensor::from_strings(texts(&input["data"]), &[4, 1]).unwrap();
    let got = model.call(&x, false).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = serde_json::from_value(rec["outputs"][0]["data"].clone()).unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-5, "Rill {a}, Keras {b}");
    }
    // The model takes text and says so; numbers are refused with a clear message.
    let err = model
        .call(&Tensor::zeros(&[2, 1], DType::F32), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("takes text (strings), found numbers"), "{err}");
}

#[test]
fn normalization_adapts_as_keras_and_a_keras_adapted_layer_reads_from_its_weights() {
    use rill_nn::layers::Normalization;
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("normalization.json")).unwrap())
            .unwrap();
    let numbers = |v: &Value| -> Vec<f64> { serde_json::from_value(v.clone()).unwrap() };
    let data: Vec<f32> = numbers(&rec["adapt_data"])
        .iter()
        .map(|&v| v as f32)
        .collect();
    let data = Tensor::from_vec(data, &[64, 4]).unwrap();
    let close = |got: &[f64], want: &[f64], what: &str| {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                "{what}: Rill {g}, Keras {w}"
            );
        }
    };
    for (axis, mean_key, var_key) in [
        (vec![-1], "mean", "variance"),
        (vec![], "whole_mean", "whole_variance"),
    ] {
        let mut norm = Normalization::new().axis(&axis);
        norm.adapt(&data).unwrap();
        let c = rill_nn::layers::Configurable::get_config(&norm);
        let want_mean = match &rec[mean_key] {
            Value::Array(_) => numbers(&rec[mean_key]),
            v => vec![v.as_f64().unwrap()],
        };
        let want_var = match &rec[var_key] {
            Value::Array(_) => numbers(&rec[var_key]),
            v => vec![v.as_f64().unwrap()],
        };
        close(c.mean.as_deref().unwrap(), &want_mean, mean_key);
        close(c.variance.as_deref().unwrap(), &want_var, var_key);
    }
    // Keras' adapted layer keeps its statistics as weights; the model gives Keras' outputs and
    // writes them back as weights Keras reads.
    let model = rill_keras::load_model(fixture("normalization.keras")).unwrap();
    let x = rill_test_support::fixtures::tensor(&rec["inputs"]["features"]);
    let got = model.call(&x, false).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = serde_json::from_value(rec["outputs"][0]["data"].clone()).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - w).abs() <= 1e-4 * w.abs().max(1.0),
            "Rill {g}, Keras {w}"
        );
    }
    let weights: Vec<String> = model.named_weights().into_iter().map(|(n, _)| n).collect();
    assert!(weights.iter().any(|n| n.ends_with("/mean")), "{weights:?}");
}
