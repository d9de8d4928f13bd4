//! The benchmark's smoke mode, so that its code cannot rot: `bench/compare.py --smoke` drives
//! this crate's worker through every workload on tiny sizes, and the results must add up.

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("bench/rill-worker sits two levels below the repository root")
}

#[test]
fn compare_smoke_mode_runs_every_workload_and_writes_its_tables() {
    let out = tempfile::tempdir().expect("temporary folder");
    let status = Command::new("python3")
        .arg(repo_root().join("bench/compare.py"))
        .args(["--smoke", "--out"])
        .arg(out.path())
        .env("RILL_BENCH_WORKER", env!("CARGO_BIN_EXE_rill-bench-worker"))
        .current_dir(repo_root())
        .status()
        .expect("python3 runs bench/compare.py");
    assert!(
        status.success(),
        "bench/compare.py --smoke failed: {status}"
    );

    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("smoke.json")).expect("smoke.json written"),
    )
    .expect("smoke.json is JSON");
    let results = &report["results"];
    for workload in ["mlp", "cnn"] {
        let row = &results[workload]["rill"];
        let epoch = row["epoch_seconds"]["median"].as_f64().expect("epoch time");
        assert!(epoch > 0.0, "{workload}: {row}");
        let acc = row["test_accuracy"]["median"].as_f64().expect("accuracy");
        assert!((0.0..=1.0).contains(&acc), "{workload}: {row}");
        assert!(row["peak_mb"]["median"].as_f64().expect("peak memory") > 1.0);
    }
    for workload in ["predict", "latency"] {
        let s = results[workload]["rill"]["seconds"]["median"].as_f64();
        assert!(
            s.is_some_and(|s| s > 0.0),
            "{workload}: {}",
            results[workload]
        );
    }
    assert!(report["peak_gflops"]["rill"]
        .as_f64()
        .is_some_and(|g| g > 0.1));
    // The tutorial's three products, each timed.
    let shapes = report["gemm_shapes"]["rill"]
        .as_object()
        .expect("the tutorial's products");
    assert_eq!(shapes.len(), 3, "{shapes:?}");
    assert!(
        shapes
            .values()
            .all(|p| p["gflops"].as_f64().is_some_and(|g| g > 0.1)),
        "{shapes:?}"
    );
    assert!(
        report["profile"].as_array().is_some_and(|p| p
            .iter()
            .any(|r| r["op"] == "matmul" && r["phase"] == "backward")),
        "the profile names the ops: {}",
        report["profile"]
    );
    let trace: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("rill-cnn.trace.json")).expect("trace written"),
    )
    .expect("the trace is JSON");
    assert!(
        trace["traceEvents"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["name"] == "matmul" && e["ph"] == "X")),
        "the trace holds the ops"
    );
    let md = std::fs::read_to_string(out.path().join("smoke.md")).expect("smoke.md written");
    assert!(md.contains("| rill |"), "{md}");
    assert!(md.contains("| xᵀ·dy 784×32×128 | "), "{md}");
}

#[test]
fn a_bad_workload_name_is_refused_with_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_rill-bench-worker"))
        .args(["--workload", "resnet"])
        .output()
        .expect("worker runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mlp") && err.contains("cnn"), "{err}");
}
