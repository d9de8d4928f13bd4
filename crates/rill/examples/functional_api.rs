//! Keras guide "The Functional API", in Rill: a model with two inputs and two outputs, a loss
//! per output with loss weights, metrics per output, trained, evaluated, saved and loaded.
//!
//!     cargo run --release --example functional_api
//!
//! Each Fashion-MNIST image comes in as two inputs, its top and bottom halves; the model
//! answers with the garment's class and whether it is footwear.

use rill::datasets::{fashion_mnist, Split};
use rill::prelude::*;

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
pub fn run(
    n: usize,
    epochs: usize,
    out: &std::path::Path,
) -> Result<Logs, Box<dyn std::error::Error>> {
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
    let (x, y) = halves(&data.train, n)?;
    model.fit(
        (x, y),
        FitConfig::default().epochs(epochs).validation_split(0.1),
    )?;

    let path = out.join("two_by_two.rill");
    model.save(&path)?;
    let mut loaded = rill::load_model(&path)?; // compiled as saved: losses, metrics, optimizer
    let (tx, ty) = halves(&data.test, data.test.images.shape()[0])?;
    let logs = loaded.evaluate((tx, ty), 256)?;
    println!("test: {logs:?}");
    Ok(logs)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all("out")?;
    run(
        std::env::var("N").map_or(60_000, |v| v.parse().unwrap()),
        std::env::var("E").map_or(5, |v| v.parse().unwrap()),
        "out".as_ref(),
    )
    .map(|_| ())
}
