//! The server over real HTTP on loopback: every endpoint, every error, batching under
//! concurrent load, hot reload with requests in flight, metrics and graceful shutdown.

use rill_core::{set_seed, Tensor};
use rill_nn::prelude::*;
use rill_serve::batcher::BatchConfig;
use rill_serve::{ModelSource, ModelStore, ServerConfig};
use rill_test_support::server::{agent, get, post, Server};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// A model on `[2, 3]` samples with 4 outputs, saved under `dir/<version>/model.rill`.
fn save_version(dir: &Path, version: u64, seed: u64) -> Sequential {
    set_seed(seed);
    let m = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(4)),
        Box::new(Softmax::new()),
    ])
    .with_input_shape(&[2, 3])
    .unwrap();
    let v = dir.join(version.to_string());
    std::fs::create_dir_all(&v).unwrap();
    rill_io::save_model(&m, v.join("model.rill")).unwrap();
    m
}

/// The server for the model versions under `base`, named `demo`.
fn start(base: &Path, config: ServerConfig) -> Server {
    let store = ModelStore::open("demo", ModelSource::BasePath(base.to_path_buf())).unwrap();
    Server::start_store(store, config)
}

fn sample(k: f64) -> Value {
    json!([[k, 0.5, -1.0], [2.0, k, 0.25]])
}

fn expected(model: &mut Sequential, ks: &[f64]) -> Vec<Vec<f64>> {
    let data: Vec<f32> = ks
        .iter()
        .flat_map(|&k| [k, 0.5, -1.0, 2.0, k, 0.25].map(|v| v as f32))
        .collect();
    let out = model
        .predict(Tensor::from_vec(data, &[ks.len(), 2, 3]).unwrap(), 64)
        .unwrap();
    out.to_f64_vec().chunks(4).map(|c| c.to_vec()).collect()
}

fn close(got: &Value, want: &[Vec<f64>]) -> bool {
    got.as_array().is_some_and(|rows| {
        rows.len() == want.len()
            && rows.iter().zip(want).all(|(r, w)| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .zip(w)
                    .all(|(a, b)| (a.as_f64().unwrap() - b).abs() < 1e-6)
            })
    })
}

#[test]
fn status_metadata_and_predict_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = save_version(dir.path(), 1, 1);
    let s = start(dir.path(), ServerConfig::default());
    let status = json!({"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]});
    assert_eq!(
        get(&format!("{}/v1/models/demo", s.base)),
        (200, status.clone())
    );
    assert_eq!(
        get(&format!("{}/v1/models/demo/versions/1", s.base)),
        (200, status)
    );
    let (code, meta) = get(&format!("{}/v1/models/demo/metadata", s.base));
    assert_eq!(code, 200);
    let sig = &meta["metadata"]["signature_def"]["signature_def"]["serving_default"];
    // The names are the model's own, as Keras names them: its input layer and its last layer.
    assert_eq!(sig["inputs"]["input_layer"]["dtype"], "DT_FLOAT");
    assert_eq!(
        sig["inputs"]["input_layer"]["tensor_shape"]["dim"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["size"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["-1", "2", "3"]
    );
    assert_eq!(
        sig["outputs"]["softmax"]["tensor_shape"]["dim"][1]["size"],
        "4"
    );
    assert_eq!(
        get(&format!("{}/v1/models/demo/versions/1/metadata", s.base)).0,
        200
    );

    let want = expected(&mut model, &[1.0, -3.0]);
    let (code, r) = post(
        &format!("{}/v1/models/demo:predict", s.base),
        &json!({"instances": [sample(1.0), sample(-3.0)]}).to_string(),
    );
    assert_eq!(code, 200);
    assert!(close(&r["predictions"], &want), "{r}");
    let (code, r) = post(
        &format!("{}/v1/models/demo/versions/1:predict", s.base),
        &json!({"signature_name": "serving_default", "inputs": [sample(1.0), sample(-3.0)]})
            .to_string(),
    );
    assert_eq!(code, 200);
    assert!(close(&r["outputs"], &want), "{r}");
    let (code, r) = post(
        &format!("{}/v1/models/demo:predict", s.base),
        &json!({"instances": [{"input_layer": sample(1.0)}]}).to_string(),
    );
    assert!(
        code == 200 && close(&r["predictions"], &want[..1]),
        "named inputs: {r}"
    );
    let (code, r) = post(
        &format!("{}/v1/models/demo:predict", s.base),
        &json!({"inputs": {"input_layer": [sample(1.0), sample(-3.0)]}}).to_string(),
    );
    assert!(
        code == 200 && close(&r["outputs"], &want),
        "named columnar inputs: {r}"
    );
}

/// Two inputs (an image and a meta vector) and two outputs (class probabilities and a score),
/// trained, saved and served, then queried in both of TF Serving's named forms.
#[test]
fn a_two_input_two_output_model_is_served_with_named_inputs_and_outputs() {
    set_seed(11);
    let mut b = FunctionalBuilder::new();
    let image = b.input_named("image", &[2, 3]).unwrap();
    let meta = b.input_named("meta", &[2]).unwrap();
    let flat = b.layer(Flatten::new(), image).unwrap();
    let joined = b.merge(Concatenate, &[flat, meta]).unwrap();
    let hidden = b
        .layer(Dense::new(5).activation(Activation::Relu), joined)
        .unwrap();
    let class = b
        .layer_named(
            "class",
            Dense::new(3).activation(Activation::Softmax),
            hidden,
        )
        .unwrap();
    let score = b.layer_named("score", Dense::new(1), hidden).unwrap();
    let mut model = b.build(&[image, meta], &[class, score]).unwrap();
    model
        .compile(
            Adam::new(0.01),
            Losses::new()
                .output("class", SparseCategoricalCrossentropy::default())
                .output("score", MeanSquaredError::default()),
            &[] as &[&str],
        )
        .unwrap();
    let n = 16;
    let xi = Tensor::from_vec(
        (0..n * 6).map(|i| (i % 7) as f32 / 7.0).collect(),
        &[n, 2, 3],
    )
    .unwrap();
    let xm = Tensor::from_vec((0..n * 2).map(|i| (i % 3) as f32).collect(), &[n, 2]).unwrap();
    let yc = Tensor::from_vec((0..n).map(|i| (i % 3) as f32).collect(), &[n]).unwrap();
    let ys = Tensor::from_vec((0..n).map(|i| i as f32 / 16.0).collect(), &[n, 1]).unwrap();
    model
        .fit(
            (vec![xi.clone(), xm.clone()], vec![yc, ys]),
            FitConfig::default()
                .epochs(2)
                .batch_size(8)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("1")).unwrap();
    rill_io::save_model(&model, dir.path().join("1/model.rill")).unwrap();
    let s = start(dir.path(), ServerConfig::default());

    let (_, meta_body) = get(&format!("{}/v1/models/demo/metadata", s.base));
    let sig = &meta_body["metadata"]["signature_def"]["signature_def"]["serving_default"];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&sig["inputs"]), ["image", "meta"]);
    assert_eq!(keys(&sig["outputs"]), ["class", "score"]);
    assert_eq!(sig["inputs"]["meta"]["tensor_shape"]["dim"][1]["size"], "2");

    let rows = 3;
    let want = model
        .predict_outputs(
            vec![xi.slice(0, 0, rows).unwrap(), xm.slice(0, 0, rows).unwrap()],
            8,
        )
        .unwrap();
    let want: Vec<Vec<Vec<f64>>> = want
        .iter()
        .map(|t| {
            let per = t.shape()[1];
            t.to_f64_vec().chunks(per).map(<[f64]>::to_vec).collect()
        })
        .collect();
    let image_rows = |i: usize| {
        let v = xi.to_f64_vec();
        json!([v[i * 6..i * 6 + 3], v[i * 6 + 3..i * 6 + 6]])
    };
    let meta_rows = |i: usize| json!(xm.to_f64_vec()[i * 2..i * 2 + 2]);
    let url = format!("{}/v1/models/demo:predict", s.base);

    // Row format: each instance an object of inputs; each prediction an object of outputs.
    let instances: Vec<Value> = (0..rows)
        .map(|i| json!({"meta": meta_rows(i), "image": image_rows(i)}))
        .collect();
    let (code, r) = post(&url, &json!({"instances": instances}).to_string());
    assert_eq!(code, 200, "{r}");
    let predictions = r["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), rows);
    for (name, o) in [("class", 0), ("score", 1)] {
        let column: Value = predictions.iter().map(|p| p[name].clone()).collect();
        assert!(close(&column, &want[o]), "{name}: {r}");
    }

    // Columnar: one object of batches in, one object of batches out.
    let body = json!({"inputs": {
        "image": (0..rows).map(image_rows).collect::<Vec<_>>(),
        "meta": (0..rows).map(meta_rows).collect::<Vec<_>>(),
    }});
    let (code, r) = post(&url, &body.to_string());
    assert_eq!(code, 200, "{r}");
    assert!(close(&r["outputs"]["class"], &want[0]), "{r}");
    assert!(close(&r["outputs"]["score"], &want[1]), "{r}");

    // Unnamed samples cannot say which input they are.
    let (code, r) = post(&url, &json!({"instances": [image_rows(0)]}).to_string());
    assert_eq!(code, 400);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("inputs 'image', 'meta'"),
        "{r}"
    );
}

#[test]
fn every_bad_request_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    save_version(dir.path(), 3, 2);
    let s = start(
        dir.path(),
        ServerConfig {
            max_body_bytes: 4096,
            ..ServerConfig::default()
        },
    );
    let p = format!("{}/v1/models/demo:predict", s.base);
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, "invalid JSON"),
        ("[1, 2]".into(), 400, "must be a JSON object"),
        (
            json!({"instances": [[[1, 2, 3]]]}).to_string(),
            400,
            "wrong shape at instances[0]: expected a list of 2, found a list of 1",
        ),
        (
            json!({"instances": [[[1, 2, 3], [4, "x", 6]]]}).to_string(),
            400,
            "wrong dtype at instances[0][1][1]: expected a number (DT_FLOAT), found a string",
        ),
        (
            json!({"instances": [sample(1.0)], "inputs": [sample(1.0)]}).to_string(),
            400,
            "not both",
        ),
        (
            json!({"samples": []}).to_string(),
            400,
            "missing \"instances\"",
        ),
        (json!({"instances": []}).to_string(), 400, "no samples"),
        (
            json!({"signature_name": "other", "instances": [sample(1.0)]}).to_string(),
            400,
            "unknown signature_name",
        ),
        (
            json!({"instances": vec![sample(1.0); 200]}).to_string(),
            413,
            "larger than 4096 bytes",
        ),
        // Size-1 axes are taken, other shapes are not, and the first error is the model's.
        (
            json!({"instances": [[[[1], [2], [3]], [[4], [5]]]]}).to_string(),
            400,
            "wrong dtype at instances[0][0][0]: expected a number (DT_FLOAT), found a list",
        ),
        (
            "{\"instances\": [[[1, NaN, 3], [4, 5, Infinity]], [[1, 2], [3, 4]]]}".into(),
            400,
            "wrong shape at instances[1][0]",
        ),
        (
            "{\"instances\": [[[1, Nope, 3]]]}".into(),
            400,
            "invalid JSON",
        ),
    ];
    for (body, code, want) in cases {
        let (c, r) = post(&p, &body);
        assert_eq!(c, code, "{body:.60}: {r}");
        assert!(
            r["error"].as_str().unwrap().contains(want),
            "expected '{want}', got {r}"
        );
    }
    assert_eq!(
        post(&format!("{}/v1/models/other:predict", s.base), "{}"),
        (
            404,
            json!({"error": "Servable not found for request: Latest(other)"})
        )
    );
    assert_eq!(
        post(
            &format!("{}/v1/models/demo/versions/7:predict", s.base),
            "{}"
        ),
        (
            404,
            json!({"error": "Servable not found for request: Specific(demo, 7)"})
        )
    );
    let (code, r) = post(&format!("{}/v1/models/demo:classify", s.base), "{}");
    assert_eq!(code, 404);
    assert_eq!(
        r["error"],
        "unknown method ':classify'; this server answers ':predict'"
    );
    assert_eq!(get(&format!("{}/v1/models/demo/versions/1", s.base)).0, 404);
    assert_eq!(
        get(&format!("{}/v1/models/demo/labels/stable", s.base)).0,
        404
    );
    assert_eq!(get(&format!("{}/v1/models/other", s.base)).0, 404);
    assert_eq!(get(&format!("{}/v2/anything", s.base)).0, 404);
}

#[test]
fn concurrent_requests_are_batched_correctly_and_hot_reload_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut v1 = save_version(dir.path(), 1, 3);
    let config = ServerConfig {
        batch: BatchConfig {
            max_batch_size: 16,
            max_wait: Duration::from_millis(5),
            inference_threads: 2,
            ..BatchConfig::default()
        },
        poll_interval: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let s = start(dir.path(), config);
    let url = format!("{}/v1/models/demo:predict", s.base);
    // 8 clients × 25 requests, each with its own input: every answer must be its own.
    let answers_v1: Vec<Vec<Vec<f64>>> = (0..8).map(|c| expected(&mut v1, &[c as f64])).collect();
    std::thread::scope(|scope| {
        for (c, want) in answers_v1.iter().enumerate() {
            let url = &url;
            scope.spawn(move || {
                for _ in 0..25 {
                    let (code, r) =
                        post(url, &json!({"instances": [sample(c as f64)]}).to_string());
                    assert_eq!(code, 200, "{r}");
                    assert!(
                        close(&r["predictions"], want),
                        "client {c} got another's answer: {r}"
                    );
                }
            });
        }
    });
    // Version 2 appears while clients keep asking: no request fails, and answers switch over.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut v2_model = None;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (url, stop) = (&url, &stop);
                scope.spawn(move || {
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let (code, r) = post(url, &json!({"instances": [sample(0.5)]}).to_string());
                        assert_eq!(code, 200, "a request failed during the swap: {r}");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        v2_model = Some(save_version(dir.path(), 2, 4));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while get(&format!("{}/v1/models/demo", s.base)).1["model_version_status"][0]["version"]
            != "2"
        {
            assert!(
                std::time::Instant::now() < deadline,
                "version 2 was never picked up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for h in handles {
            assert!(h.join().unwrap() > 0);
        }
    });
    let want_v2 = expected(v2_model.as_mut().unwrap(), &[0.5]);
    let (_, r) = post(&url, &json!({"instances": [sample(0.5)]}).to_string());
    assert!(
        close(&r["predictions"], &want_v2),
        "serves version 2 now: {r}"
    );
    assert_eq!(get(&format!("{}/v1/models/demo/versions/2", s.base)).0, 200);
}

#[test]
fn metrics_count_requests_and_shutdown_is_graceful() {
    let dir = tempfile::tempdir().unwrap();
    save_version(dir.path(), 1, 5);
    let mut s = start(dir.path(), ServerConfig::default());
    for _ in 0..3 {
        post(
            &format!("{}/v1/models/demo:predict", s.base),
            &json!({"instances": [sample(1.0)]}).to_string(),
        );
    }
    post(&format!("{}/v1/models/demo:predict", s.base), "oops");
    let mut r = agent()
        .get(&format!("{}/monitoring/prometheus/metrics", s.base))
        .call()
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert!(
        text.contains("rill_requests_total{endpoint=\"predict\",status=\"200\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("rill_requests_total{endpoint=\"predict\",status=\"400\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rill_request_latency_seconds_count 4"),
        "{text}"
    );
    let url = s.base.clone();
    s.stop();
    assert!(
        agent()
            .get(&format!("{url}/v1/models/demo"))
            .call()
            .is_err(),
        "the server stopped listening"
    );
}

#[test]
fn an_onnx_file_in_a_version_folder_is_served_with_its_own_names() {
    // The PyTorch-made MobileNet-style block: two named outputs, NCHW input named "input".
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rill-onnx/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("3")).unwrap();
    std::fs::copy(
        fixtures.join("torch_separable.onnx"),
        dir.path().join("3/model.onnx"),
    )
    .unwrap();
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("torch_separable.json")).unwrap(),
    )
    .unwrap();
    let s = start(dir.path(), ServerConfig::default());
    let (code, meta) = get(&format!("{}/v1/models/demo/metadata", s.base));
    assert_eq!(code, 200, "{meta}");
    let sig = &meta["metadata"]["signature_def"]["signature_def"]["serving_default"];
    assert!(
        sig["inputs"]["input"].is_object()
            && sig["outputs"]["log_probs"].is_object()
            && sig["outputs"]["weights"].is_object(),
        "{sig}"
    );
    // The fixture's two samples, as nested lists of shape 4×9×9.
    let flat: Vec<f64> = record["inputs"]["input"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let nest = |sample: &[f64]| -> Value {
        json!(sample
            .chunks(81)
            .map(|plane| plane.chunks(9).map(|r| r.to_vec()).collect::<Vec<_>>())
            .collect::<Vec<_>>())
    };
    let body = json!({"instances": [nest(&flat[..324]), nest(&flat[324..])]}).to_string();
    let (code, answer) = post(&format!("{}/v1/models/demo:predict", s.base), &body);
    assert_eq!(code, 200, "{answer}");
    // onnxruntime's log-probabilities for the same inputs (within 1e-4).
    let want: Vec<f64> = record["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let got: Vec<f64> = answer["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["log_probs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "{g} vs {w}");
    }
}

#[test]
fn the_keras_tutorial_model_is_served_from_its_keras_file() {
    // The Keras tutorial's model trained by TensorFlow and saved with model.save (see
    // tools/make_keras_fixtures.py), queried as the TF Serving tutorial's client does.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rill-keras/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("1")).unwrap();
    std::fs::copy(
        fixtures.join("tutorial.keras"),
        dir.path().join("1/tutorial.keras"),
    )
    .unwrap();
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("tutorial.json")).unwrap())
            .unwrap();
    let s = start(dir.path(), ServerConfig::default());
    let images: Vec<f64> = record["inputs"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let instances: Vec<Value> = images
        .chunks(784)
        .map(|img| json!(img.chunks(28).map(|r| r.to_vec()).collect::<Vec<_>>()))
        .collect();
    let body = json!({"signature_name": "serving_default", "instances": instances}).to_string();
    let (code, answer) = post(&format!("{}/v1/models/demo:predict", s.base), &body);
    assert_eq!(code, 200, "{answer}");
    let want: Vec<f64> = record["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let got: Vec<f64> = answer["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - w).abs() < 1e-4 * w.abs().max(1.0),
            "Rill {g}, Keras {w}"
        );
    }
}

/// Keras' text model (TextVectorization → Embedding → pooling → Dense, written by Keras with
/// its vocabulary in the file's assets) and Keras' outputs for its probe sentences.
fn keras_text_model(dir: &Path) -> (Vec<String>, Vec<f64>) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rill-keras/tests/fixtures");
    std::fs::create_dir_all(dir.join("1")).unwrap();
    std::fs::copy(fixtures.join("text.keras"), dir.join("1/text.keras")).unwrap();
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("text.json")).unwrap())
            .unwrap();
    let text = record["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let want = record["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (text, want)
}

#[test]
fn a_text_model_answers_raw_strings_over_rest_as_keras_computes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (text, want) = keras_text_model(dir.path());
    let s = start(dir.path(), ServerConfig::default());
    let url = format!("{}/v1/models/demo:predict", s.base);
    let flat = |answer: &Value, key: &str| -> Vec<f64> {
        answer[key]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect()
    };
    // One string per instance (the model's input is (batch, 1): the size-1 axis is learned),
    // and the columnar form with the axis written out.
    let columns: Vec<Vec<&String>> = text.iter().map(|t| vec![t]).collect();
    for (body, key) in [
        (json!({"instances": text}), "predictions"),
        (json!({"inputs": columns}), "outputs"),
    ] {
        let (code, answer) = post(&url, &body.to_string());
        assert_eq!(code, 200, "{answer}");
        let got = flat(&answer, key);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "Rill {g}, Keras {w}");
        }
    }
    // Text that spells TF Serving's special numbers is text for an input of text.
    let (code, answer) = post(&url, &json!({"instances": ["NaN", "Infinity"]}).to_string());
    assert_eq!(code, 200, "{answer}");
    // Numbers where text goes, and text where numbers go, are refused by name.
    let (code, answer) = post(&url, &json!({"instances": [[1.0]]}).to_string());
    assert_eq!(code, 400);
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("takes text (DT_STRING), found a number"),
        "{message}"
    );
    let numbers = tempfile::tempdir().unwrap();
    save_version(numbers.path(), 1, 1);
    let n = start(numbers.path(), ServerConfig::default());
    let body = json!({"instances": [[["a", 0.5, 1.0], [2.0, 1.0, 0.25]]]}).to_string();
    let (code, answer) = post(&format!("{}/v1/models/demo:predict", n.base), &body);
    assert_eq!(code, 400);
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("expected a number (DT_FLOAT), found a string"),
        "{message}"
    );
}
