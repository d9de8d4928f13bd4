//! Keras files in and out: the model that the Keras tutorial trains in TensorFlow, opened from
//! its `.keras` file, evaluated, fine-tuned for an epoch in Rill and saved again as `.keras`
//! for Keras to open (`keras.saving.load_model("out/keras/tutorial-tuned.keras")`).
//!
//!     cargo run --release --example keras_files
//!
//! From the command line: `rill evaluate tutorial.keras`, `rill serve tutorial.keras`, and
//! `rill export fashion.rill -o fashion.keras`.

use rill::prelude::*;
use std::error::Error;
use std::path::Path;

/// The Keras tutorial's model, trained by TensorFlow/Keras 3 (tools/make_keras_fixtures.py).
const TUTORIAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../rill-keras/tests/fixtures/tutorial.keras"
);

/// Returns the test accuracy as loaded and after fine-tuning on `n` training images.
pub fn run(n: usize, out: &Path) -> Result<(f64, f64), Box<dyn Error>> {
    set_seed(4);
    let data = rill::datasets::fashion_mnist::load_data()?;
    let scale = |t: &Tensor| t.to_dtype(DType::F32)?.div_scalar(255.0);
    let (test_x, test_y) = (scale(&data.test.images)?, &data.test.labels);

    let mut model = rill::keras::load_model(TUTORIAL)?;
    println!("{}", model.summary());
    model.compile(
        Adam::new(1e-4),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )?;
    let before = model.evaluate((&test_x, test_y), 256)?["accuracy"];
    println!("Trained by Keras, evaluated by Rill: test accuracy {before:.4}");

    let x = scale(&data.train.images.slice(0, 0, n)?)?;
    let y = data.train.labels.slice(0, 0, n)?;
    model.fit((&x, &y), FitConfig::default().epochs(1))?;
    let after = model.evaluate((&test_x, test_y), 256)?["accuracy"];
    println!("After an epoch in Rill: test accuracy {after:.4}");

    let path = out.join("tutorial-tuned.keras");
    rill::keras::save_model(&model, &path)?;
    println!(
        "Saved {} — keras.saving.load_model opens it",
        path.display()
    );
    Ok((before, after))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let out = Path::new("out/keras");
    std::fs::create_dir_all(out)?;
    run(60_000, out)?;
    Ok(())
}
