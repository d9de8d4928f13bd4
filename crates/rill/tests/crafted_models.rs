//! Small model files crafted to take `rill serve` down, run through the `rill` binary as a user
//! would, under a 1 GiB address-space cap (`prlimit --as`): an output of 30,000 axes in each
//! format, an ONNX file that folds one 128 MiB constant into 50 GiB, and a `.keras` zip whose
//! header claims a 4 GiB entry. Each must be refused with a clear error — quickly, without a
//! panic or an abort — and a server serving a good version must go on answering beside each.

use rill::prelude::*;
use rill_test_support::crafted;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The address-space cap every command here runs under.
const CAP_BYTES: u64 = 1 << 30;

/// `rill ARGS` under the cap.
fn capped(args: &[&str]) -> Command {
    let mut c = Command::new("prlimit");
    c.arg(format!("--as={CAP_BYTES}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_rill"))
        .args(args);
    c
}

/// A model on 4 features whose last layer is a `Reshape` to `[4]`: the layer the crafted
/// `.rill` and `.keras` files deepen.
fn reshaping_model() -> Sequential {
    set_seed(5);
    Sequential::new(vec![
        Box::new(Dense::new(4)) as Box<dyn Layer>,
        Box::new(Reshape::new(&[4])),
    ])
    .with_input_shape(&[4])
    .unwrap()
}

/// `[4, 1, 1, …]`: a per-sample shape of `axes` axes.
fn deep_shape(axes: usize) -> serde_json::Value {
    let mut shape = vec![1u64; axes];
    shape[0] = 4;
    serde_json::json!(shape)
}

/// The crafted files, each with a phrase its error must contain.
fn crafted_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let model = reshaping_model();
    let good_rill = dir.join("good.rill");
    rill::io::save_model(&model, &good_rill).unwrap();
    let good_keras = dir.join("good.keras");
    rill::keras::save_model(&model, &good_keras).unwrap();
    let good_keras = std::fs::read(good_keras).unwrap();

    let deep_rill = crafted::reseal_rill(&std::fs::read(&good_rill).unwrap(), |c| {
        let nodes = c["nodes"].as_array_mut().unwrap();
        let reshape = nodes.iter_mut().find(|n| n["class_name"] == "Reshape");
        reshape.unwrap()["config"]["target_shape"] = deep_shape(29_999);
    });
    let deep_keras = crafted::edit_keras_config(&good_keras, |c| {
        let layers = c["config"]["layers"].as_array_mut().unwrap();
        let reshape = layers.iter_mut().find(|l| l["class_name"] == "Reshape");
        reshape.unwrap()["config"]["target_shape"] = deep_shape(29_999);
    });
    let files: [(&str, Vec<u8>, &str); 5] = [
        ("deep.rill", deep_rill, "30000 axes"),
        ("deep.onnx", crafted::deep_onnx(30_000), "30000 axes"),
        ("deep.keras", deep_keras, "30000 axes"),
        ("bomb.onnx", crafted::fold_bomb_onnx(400), "while importing"),
        (
            "lying.keras",
            crafted::keras_claiming(&good_keras, u32::MAX - 1),
            "the archive's header is wrong",
        ),
    ];
    files
        .into_iter()
        .map(|(name, bytes, phrase)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (path, phrase)
        })
        .collect()
}

#[test]
fn summary_refuses_each_crafted_file_quickly_under_a_one_gib_cap() {
    let dir = tempfile::tempdir().unwrap();
    // The cap leaves room for real work: a good model summarises under it.
    let good = dir.path().join("good.rill");
    rill::io::save_model(&reshaping_model(), &good).unwrap();
    let out = capped(&["summary", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (path, phrase) in crafted_files(dir.path()) {
        let started = Instant::now();
        let out = capped(&["summary", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let name = path.file_name().unwrap().to_string_lossy();
        // Exit code 1 is an error the CLI reports; a panic exits 101, an abort by signal.
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(phrase) && !err.contains("panicked"),
            "{name}: {err}"
        );
        assert!(err.len() < 1000, "{name}: the error lists no sizes: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name}: {:?}",
            started.elapsed()
        );
    }
}

/// A `rill serve` process, stopped when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(base: &Path) -> Served {
        let mut child = capped(&[
            "serve",
            "--model-base-path",
            base.to_str().unwrap(),
            "--port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving 'model' version 1 on http://127.0.0.1:PORT/v1/models/model"
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Served { child, url }
    }

    fn predict(&self) -> (u16, String) {
        let body = r#"{"instances": [[1.0, -2.0, 3.0, 0.5]]}"#;
        match ureq::post(&format!("{}:predict", self.url))
            .header("Content-Type", "application/json")
            .send(body)
        {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap()),
            Err(e) => (0, e.to_string()),
        }
    }

    /// The status the server gives version `v`, once it has one.
    fn version_status(&self, v: u64, within: Duration) -> serde_json::Value {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(mut r) = ureq::get(&self.url).call() {
                let status: serde_json::Value = r.body_mut().read_json().unwrap();
                let versions = status["model_version_status"].as_array().unwrap();
                // TF Serving writes versions as strings.
                let named = |s: &&serde_json::Value| s["version"].as_str() == Some(&v.to_string());
                if let Some(s) = versions.iter().find(named) {
                    return s.clone();
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("version {v} has no status after {within:?}");
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_served_good_version_goes_on_answering_beside_each_crafted_version() {
    let dir = tempfile::tempdir().unwrap();
    let files = crafted_files(dir.path());
    let base = dir.path().join("models");
    std::fs::create_dir_all(base.join("1")).unwrap();
    rill::io::save_model(&reshaping_model(), base.join("1/model.rill")).unwrap();
    let mut server = Served::start(&base);
    let (code, want) = server.predict();
    assert_eq!(code, 200, "{want}");
    for (k, (path, phrase)) in files.iter().enumerate() {
        let version = k as u64 + 2;
        let folder = base.join(version.to_string());
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(
            path,
            folder.join(format!(
                "model.{}",
                path.extension().unwrap().to_str().unwrap()
            )),
        )
        .unwrap();
        let status = server.version_status(version, Duration::from_secs(30));
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(status["state"], "END", "{name}: {status}");
        let message = status["status"]["error_message"].as_str().unwrap();
        assert!(message.contains(phrase), "{name}: {message}");
        assert!(server.is_running(), "{name}: the server died");
        assert_eq!(server.predict(), (200, want.clone()), "{name}");
    }
}
