//! Keras' "load an image, predict its class", in Rill: a saved model and a PNG file in, the
//! most likely class out.
//!
//!     cargo run --release --example predict_image -- [MODEL.rill] [IMAGE.png ...]
//!
//! Without a model, trains the tutorial's MLP for one epoch and saves it to out/fashion.rill;
//! without images, predicts the samples in crates/rill/examples/images/.

use rill::data::images::ColorMode;
use rill::prelude::*;
use std::path::{Path, PathBuf};

/// The most likely class of the image at `image` for the model saved at `model`, with its
/// probability.
pub fn run(model: &Path, image: &Path) -> Result<(String, f64), Box<dyn std::error::Error>> {
    let class_names = rill::io::load_class_names(model)?.unwrap_or_default();
    let model = rill::load_model(model)?;
    let img = load_image(image, ColorMode::Grayscale, Some((28, 28)))?;
    let x = img
        .reshape(&[1, 28, 28])?
        .to_dtype(DType::F32)?
        .div_scalar(255.0)?;
    let out = model.predict(&x, 1)?;
    let has_softmax = model
        .layers()
        .last()
        .is_some_and(|(_, l)| l.kind() == "Softmax");
    let probabilities = if has_softmax { out } else { out.softmax(-1)? }.to_f64_vec();
    let (best, p) = probabilities
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .ok_or("no output")?;
    let name = class_names
        .get(best)
        .cloned()
        .unwrap_or_else(|| best.to_string());
    println!("{}: {name} ({:.1}%)", image.display(), p * 100.0);
    Ok((name, *p))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = PathBuf::from(args.next().unwrap_or_else(|| "out/fashion.rill".into()));
    if !model.exists() {
        println!(
            "no {}: training the tutorial's MLP for one epoch first",
            model.display()
        );
        let data = rill::datasets::fashion_mnist::load_data()?;
        let mut m = rill::zoo::fashion_mnist_mlp()?;
        m.compile(
            Adam::new(1e-3),
            SparseCategoricalCrossentropy::from_logits(),
            &["accuracy"],
        )?;
        m.fit(
            (&data.train.images, &data.train.labels),
            FitConfig::default().epochs(1),
        )?;
        std::fs::create_dir_all(model.parent().unwrap_or(Path::new(".")))?;
        m.add(Softmax::new())?; // saved with probabilities out, as `rill train` does
        rill::io::save_model_with_classes(&m, Some(&data.class_names), &model)?;
    }
    let mut images: Vec<PathBuf> = args.map(PathBuf::from).collect();
    if images.is_empty() {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images");
        images = std::fs::read_dir(samples)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        images.sort();
    }
    for image in images {
        run(&model, &image)?;
    }
    Ok(())
}
