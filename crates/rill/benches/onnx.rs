//! `cargo bench -p rill --bench onnx`: what an ONNX round trip costs at inference. The
//! tutorial CNN (seeded weights) predicts 10,000 images natively, then exported to ONNX and
//! imported back (channels-first ONNX layers), 5 runs each, min and median. The same file for
//! onnxruntime: `python tools/bench_onnxruntime.py out/bench/tutorial_cnn.onnx`.

use rill::prelude::*;
use std::time::Instant;

fn timed(model: &Model, x: &Tensor) -> (f64, f64) {
    model.predict(x, 256).expect("predicts"); // warm-up
    let mut t: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            model.predict(x, 256).expect("predicts");
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (t[0], t[2])
}

fn main() {
    set_seed(1);
    let native = rill::zoo::fashion_mnist_cnn().expect("builds");
    // In the workspace's out/, where tools/bench_onnxruntime.py is pointed at it.
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../out/bench/tutorial_cnn.onnx"
    ));
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("writable out/bench");
    rill::onnx::export(&native, path, &Default::default()).expect("exports");
    let import_start = Instant::now();
    let imported = rill::onnx::load(path).expect("imports");
    let import = import_start.elapsed().as_secs_f64();
    let x = Generator::new(2)
        .uniform(&[10_000, 28, 28], 0.0, 1.0, DType::F32)
        .expect("random images");
    println!("tutorial CNN, predict 10,000 images (batch 256), 5 runs:");
    for (name, model) in [
        ("Rill model", &native),
        ("exported to ONNX and imported", &imported),
    ] {
        let (min, median) = timed(model, &x);
        println!("  {name:<32} min {min:.3} s  median {median:.3} s");
    }
    println!("  importing the file: {:.1} ms", import * 1e3);
}
