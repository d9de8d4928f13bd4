//! The `rill` binary, run as a user would: summary, evaluate, predict (text and JSON), errors.

use rill::prelude::*;
use std::process::Command;

fn rill(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(args)
        .output()
        .expect("rill runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small trained probability model saved with the Fashion-MNIST class names.
fn saved_model(dir: &std::path::Path) -> std::path::PathBuf {
    set_seed(1);
    let data = rill::datasets::fashion_mnist::load_data().unwrap();
    let x = data
        .train
        .images
        .slice(0, 0, 6000)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .div_scalar(255.0)
        .unwrap();
    let y = data.train.labels.slice(0, 0, 6000).unwrap();
    let mut m = rill::zoo::fashion_mnist_mlp().unwrap();
    m.compile(
        Adam::default(),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    m.fit(
        (&x, &y),
        FitConfig::default().epochs(2).verbose(Verbosity::Silent),
    )
    .unwrap();
    m.add(Softmax::new()).unwrap();
    let path = dir.join("fashion.rill");
    rill::io::save_model_with_classes(&m, Some(&data.class_names), &path).unwrap();
    // The first test image (an ankle boot) as a PNG, as a user would have it.
    let px = data
        .test
        .images
        .slice(0, 0, 1)
        .unwrap()
        .to_vec::<u8>()
        .unwrap();
    image::GrayImage::from_raw(28, 28, px)
        .unwrap()
        .save(dir.join("boot.png"))
        .unwrap();
    // And a larger, differently sized copy: predict resizes.
    image::imageops::resize(
        &image::open(dir.join("boot.png")).unwrap().to_luma8(),
        90,
        70,
        image::imageops::FilterType::Triangle,
    )
    .save(dir.join("boot-big.jpg"))
    .unwrap();
    path
}

#[test]
fn summary_evaluate_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let m = model.to_str().unwrap();
    let (ok, out, _) = rill(&["summary", m]);
    assert!(
        ok && out.contains("dense (Dense)")
            && out.contains("softmax (Softmax)")
            && out.contains("Total params: 101,770"),
        "{out}"
    );
    let (ok, out, _) = rill(&["evaluate", m]);
    let acc: f64 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(ok && acc > 0.75, "{out}");
    let boot = dir.path().join("boot.png");
    let (ok, out, _) = rill(&["predict", m, boot.to_str().unwrap()]);
    assert!(
        ok && out.lines().nth(1).unwrap().ends_with("Ankle boot (9)"),
        "{out}"
    );
    let big = dir.path().join("boot-big.jpg");
    let (ok, out, err) = rill(&["predict", m, big.to_str().unwrap(), "--json", "--top", "2"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["top"].as_array().unwrap().len(), 2);
    assert_eq!(v[0]["top"][0]["name"], "Ankle boot");
    let p = v[0]["top"][0]["probability"].as_f64().unwrap();
    assert!(p > 0.3 && p <= 1.0);
}

#[test]
fn export_to_onnx_then_summary_evaluate_and_predict_the_onnx_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let onnx = dir.path().join("fashion.onnx");
    let (ok, out, err) = rill(&[
        "export",
        model.to_str().unwrap(),
        "-o",
        onnx.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("opset 17"), "{out}{err}");
    let o = onnx.to_str().unwrap();
    let (ok, out, _) = rill(&["summary", o]);
    assert!(ok && out.contains("Total params: 101,770"), "{out}");
    // The same accuracy as the .rill file it came from.
    let (_, from_rill, _) = rill(&["evaluate", model.to_str().unwrap()]);
    let (ok, from_onnx, err) = rill(&["evaluate", o]);
    assert!(ok, "{err}");
    let acc = |s: &str| s.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(acc(&from_onnx), acc(&from_rill));
    // Class names travel in the ONNX metadata.
    let boot = dir.path().join("boot.png");
    let (ok, out, _) = rill(&["predict", o, boot.to_str().unwrap()]);
    assert!(
        ok && out.lines().nth(1).unwrap().ends_with("Ankle boot (9)"),
        "{out}"
    );
    // A PyTorch CNN (NCHW, 1×28×28) evaluates on 28×28 images as they come.
    let torch = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rill-onnx/tests/fixtures/torch_cnn.onnx"
    );
    let (ok, out, err) = rill(&["evaluate", torch]);
    assert!(ok && out.contains("10000 test images"), "{out}{err}");
    let (ok, _, err) = rill(&["export", model.to_str().unwrap(), "-o", "model.h5"]);
    assert!(
        !ok && err.contains("model.h5: the extension names no model format")
            && err.contains(".rill (rill), .keras (keras), .onnx (onnx), .weights.h5"),
        "{err}"
    );
}

#[test]
fn export_writes_every_format_its_extension_names_and_each_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let (_, want, _) = rill(&["evaluate", model.to_str().unwrap()]);
    for name in ["again.rill", "again.keras", "again.onnx", "AGAIN.KERAS"] {
        let out_path = dir.path().join(name);
        let o = out_path.to_str().unwrap();
        let (ok, out, err) = rill(&["export", model.to_str().unwrap(), "-o", o]);
        assert!(ok && out.starts_with("Saved"), "{name}: {out}{err}");
        let (ok, out, err) = rill(&["summary", o]);
        assert!(
            ok && out.contains("Total params: 101,770"),
            "{name}: {out}{err}"
        );
        let (ok, got, err) = rill(&["evaluate", o]);
        assert!(ok, "{name}: {err}");
        assert_eq!(
            got.split_whitespace().nth(1),
            want.split_whitespace().nth(1),
            "{name}"
        );
    }
    // Keras weights hold no architecture: written, and refused as a model with what to do.
    let weights = dir.path().join("fashion.weights.h5");
    let w = weights.to_str().unwrap();
    let (ok, out, err) = rill(&["export", model.to_str().unwrap(), "-o", w]);
    assert!(ok && out.contains("Keras weights"), "{out}{err}");
    let (ok, _, err) = rill(&["summary", w]);
    assert!(!ok && err.contains("holds weights only"), "{err}");
}

#[test]
fn the_tutorial_model_trained_by_keras_evaluates_as_keras_evaluates_it() {
    // tools/make_keras_fixtures.py: the Keras tutorial's model, trained by TensorFlow, saved with
    // model.save("tutorial.keras"); Keras' own model.evaluate is in tutorial.json.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../rill-keras/tests/fixtures");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{fixtures}/tutorial.json")).unwrap(),
    )
    .unwrap();
    let keras_accuracy = record["test_accuracy"].as_f64().unwrap();
    let (ok, out, err) = rill(&["evaluate", &format!("{fixtures}/tutorial.keras")]);
    assert!(ok, "{err}");
    let accuracy = out.split_whitespace().nth(1).unwrap();
    assert_eq!(accuracy, format!("{keras_accuracy:.4}"), "{out}");
    let loss: f64 = out.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(
        (loss - record["test_loss"].as_f64().unwrap()).abs() < 1e-3,
        "{out}"
    );
    // And it exports to ONNX and back to .keras like any model.
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again.keras");
    let (ok, _, err) = rill(&[
        "export",
        &format!("{fixtures}/tutorial.keras"),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (_, out2, _) = rill(&["evaluate", again.to_str().unwrap()]);
    assert_eq!(out2, out);
}

#[test]
fn errors_are_one_line_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.rill");
    let (ok, out, err) = rill(&["summary", missing.to_str().unwrap()]);
    assert!(!ok && out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("rill: ") && err.contains("missing.rill"),
        "{err}"
    );
    let not_image = dir.path().join("notes.txt");
    std::fs::write(&not_image, "hello").unwrap();
    let model = saved_model(dir.path());
    let (ok, _, err) = rill(&[
        "predict",
        model.to_str().unwrap(),
        not_image.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("notes.txt: not a readable PNG or JPEG image"),
        "{err}"
    );
    // One unreadable image among good ones: reported, and the others still answered.
    let boot = dir.path().join("boot.png");
    let (ok, out, err) = rill(&[
        "predict",
        model.to_str().unwrap(),
        not_image.to_str().unwrap(),
        boot.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("Ankle boot (9)"), "{out}");
    assert!(
        err.contains("notes.txt: not a readable PNG or JPEG image")
            && err.contains("1 of 2 images could not be read"),
        "{err}"
    );
    // An output that cannot be written fails before any training, not after.
    let nowhere = dir.path().join("no/such/folder/model.rill");
    let started = std::time::Instant::now();
    let (ok, _, err) = rill(&["train", "-o", nowhere.to_str().unwrap()]);
    assert!(!ok && err.contains("cannot write in"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (ok, _, err) = rill(&["train", "--dataset", "cifar"]);
    assert!(
        !ok && err.trim() == "rill: unknown dataset 'cifar' (known: fashion-mnist, mnist)",
        "{err}"
    );
    let (ok, _, err) = rill(&["frobnicate"]);
    assert!(!ok && err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn train_saves_a_model_and_writes_tensorboard_logs_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.rill");
    let logs = dir.path().join("logs");
    let (ok, out, err) = rill(&[
        "train",
        "--epochs",
        "1",
        "--output",
        model.to_str().unwrap(),
        "--logdir",
        logs.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("Saved"), "{out}\n{err}");
    assert!(model.exists());
    for run in ["train", "validation"] {
        let files = std::fs::read_dir(logs.join(run)).unwrap().count();
        assert_eq!(files, 1, "one event file in {run}");
    }
}
