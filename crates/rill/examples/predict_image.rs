//! Keras' "load an image, predict its class", in Rill: a saved model and a PNG file in, the
//! most likely class out.
//!
//!     cargo run --release --bin rill -- train --output out/fashion.rill   # a model, once
//!     cargo run --release --example predict_image -- out/fashion.rill crates/rill/examples/images/trouser.png
//!
//! The model outputs probabilities, as `rill train` saves it, and holds its class names.

use rill::data::images::ColorMode;
use rill::prelude::*;
use std::path::Path;

/// The most likely class of `image` for the model saved at `model`, with its probability.
pub fn run(model: &Path, image: &Path) -> Result<(String, f64), Box<dyn std::error::Error>> {
    let class_names = rill::io::load_class_names(model)?.ok_or("the model has no class names")?;
    let model = rill::load_model(model)?;
    let img = load_image(image, ColorMode::Grayscale, Some((28, 28)))?;
    let x = img
        .to_dtype(DType::F32)?
        .div_scalar(255.0)?
        .reshape(&[1, 28, 28])?;
    let probabilities = model.predict(&x, 1)?.to_f64_vec();
    let best =
        (0..probabilities.len()).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    let best = best.ok_or("the model gave no output")?;
    println!(
        "{}: {} ({:.1}%)",
        image.display(),
        class_names[best],
        probabilities[best] * 100.0
    );
    Ok((class_names[best].clone(), probabilities[best]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, model, image] = &args[..] else {
        return Err("usage: predict_image MODEL.rill IMAGE.png".into());
    };
    run(model.as_ref(), image.as_ref()).map(|_| ())
}
