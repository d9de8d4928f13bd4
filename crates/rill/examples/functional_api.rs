//! Keras guide "The Functional API", in Rill: a model with two inputs and two outputs, a loss
//! per output with loss weights, metrics per output, trained, evaluated, saved and loaded.
//!
//!     cargo run --release --example functional_api
//!
//! Each Fashion-MNIST image comes in as two inputs, its top and bottom halves; the model
//! answers with the garment's class and whether it is footwear.

use rill::datasets::{fashion_mnist, Split};
use rill::prelude::*;
use std::{error::Error, path::Path};

/// `(inputs by name, targets by name)` for the first `n` samples of a split.
fn halves(s: &Split, n: usize) -> rill::core::Result<(Data, Data)> {
    let images = s.images.slice(0, 0, n)?;
    let labels = s.labels.slice(0, 0, n)?;
    let footwear: Vec<f32> = labels
        .to_f64_vec()
        .iter()
        .map(|&c| [5.0, 7.0, 9.0].contains(&c) as u8 as f32)
        .collect();
    let x = vec![
        ("top", images.slice(1, 0, 14)?),
        ("bottom", images.slice(1, 14, 28)?),
    ];
    let y = vec![
        ("class", labels),
        ("footwear", Tensor::from_vec(footwear, &[n, 1])?),
    ];
    Ok((x.into(), y.into()))
}

/// Trains on `n` images for `epochs`; returns the test logs of the reloaded model.
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<Logs, Box<dyn Error>> {
    set_seed(1);
    let mut g = FunctionalBuilder::new();
    let top = g.input_named("top", &[14, 28])?;
    let bottom = g.input_named("bottom", &[14, 28])?;
    let x = g.merge(Concatenate, &[top, bottom])?;
    let x = g.layer(Flatten::new(), x)?;
    let x = g.layer(Rescaling::new(1.0 / 255.0, 0.0), x)?;
    let x = g.layer(Dense::new(128).activation(Activation::Relu), x)?;
    let class = g.layer_named("class", Dense::new(10), x)?;
    let footwear = g.layer_named("footwear", Dense::new(1).activation(Activation::Sigmoid), x)?;
    let mut model = g.build(&[top, bottom], &[class, footwear])?;
    println!("{}", model.summary());

    model.compile(
        Adam::new(1e-3),
        Losses::new()
            .output("class", SparseCategoricalCrossentropy::from_logits())
            .output("footwear", BinaryCrossentropy::default())
            .weight("footwear", 0.2),
        Metrics::new()
            .output("class", "accuracy")
            .output("footwear", "accuracy"),
    )?;
    let data = fashion_mnist::load_data()?;
    let fit = FitConfig::default().epochs(epochs).validation_split(0.1);
    model.fit(halves(&data.train, n)?, fit)?;

    std::fs::create_dir_all(out)?;
    let path = out.join("two_by_two.rill");
    model.save(&path)?;
    let mut loaded = rill::load_model(&path)?; // compiled as saved: losses, metrics, optimizer
    let logs = loaded.evaluate(halves(&data.test, 10_000)?, 256)?;
    println!("test: {logs:?}");
    Ok(logs)
}

fn main() -> Result<(), Box<dyn Error>> {
    run(60_000, 5, "out".as_ref()).map(|_| ())
}
