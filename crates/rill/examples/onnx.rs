//! Models in and out with ONNX: a model trained in Rill exported for onnxruntime (or any ONNX
//! runtime), and a model written by PyTorch (`torch.onnx.export`) imported, fine-tuned on
//! Fashion-MNIST in Rill, and saved as a Rill model file.
//!
//!     cargo run --release --example onnx
//!
//! The same from the command line: `rill export fashion.rill -o fashion.onnx`, and
//! `rill evaluate|predict|summary|serve model.onnx`.

use rill::prelude::*;
use std::error::Error;
use std::path::Path;

/// A small PyTorch CNN of the tutorial's shape (NCHW input 1×28×28), made by
/// tools/make_onnx_fixtures_torch.py with freshly initialised weights.
const TORCH_CNN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../rill-onnx/tests/fixtures/torch_cnn.onnx"
);

/// Returns the largest difference between the Rill model and its exported-then-imported
/// copy, and the test accuracy of the PyTorch model after fine-tuning in Rill.
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<(f32, f64), Box<dyn Error>> {
    set_seed(3);
    let data = rill::datasets::fashion_mnist::load_data()?;
    let scale = |t: &Tensor| t.to_dtype(DType::F32)?.div_scalar(255.0);
    let x = scale(&data.train.images.slice(0, 0, n)?)?;
    let y = data.train.labels.slice(0, 0, n)?;
    let (test_x, test_y) = (scale(&data.test.images)?, &data.test.labels);

    // 1. Out: train the tutorial's MLP and export it, class names in the file's metadata.
    let mut mlp = rill::zoo::fashion_mnist_mlp()?;
    mlp.compile(
        Adam::default(),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )?;
    mlp.fit((&x, &y), FitConfig::default().epochs(epochs))?;
    let onnx_path = out.join("fashion_mlp.onnx");
    let options = rill::onnx::ExportOptions {
        class_names: Some(data.class_names.clone()),
    };
    rill::onnx::export(&mlp, &onnx_path, &options)?;
    println!(
        "Exported {} (opset {})",
        onnx_path.display(),
        rill::onnx::OPSET
    );

    // Read back (as onnxruntime would run it): the same predictions.
    let back = rill::load_model(&onnx_path)?;
    let (a, b) = (mlp.predict(&test_x, 256)?, back.predict(&test_x, 256)?);
    let diff = a
        .to_vec::<f32>()?
        .iter()
        .zip(b.to_vec::<f32>()?)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0f32, f32::max);
    println!("Largest difference after the round trip: {diff:e}");

    // 2. In: a PyTorch model, trained here. Its input stays NCHW (1×28×28); 28×28 images go in
    // as they are, since they differ only by a size-1 axis.
    let mut torch = rill::onnx::load(TORCH_CNN)?;
    println!("{}", torch.summary());
    torch.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )?;
    torch.fit((&x, &y), FitConfig::default().epochs(epochs))?;
    let logs = torch.evaluate((&test_x, test_y), 256)?;
    println!(
        "PyTorch CNN fine-tuned in Rill: test accuracy {:.4}",
        logs["accuracy"]
    );
    let saved = out.join("torch_cnn.rill");
    torch.save(&saved)?;
    println!("Saved {}", saved.display());
    Ok((diff, logs["accuracy"]))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let out = Path::new("out/onnx");
    std::fs::create_dir_all(out)?;
    run(60_000, 3, out)?;
    Ok(())
}
