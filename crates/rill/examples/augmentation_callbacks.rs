//! Keras guides "Data augmentation" and "Writing your own callbacks", in Rill: a `Dataset`
//! that shuffles and randomly flips and shifts each image (reproducibly, on every core) feeds
//! `fit`, with validation data, `EarlyStopping`, `ModelCheckpoint` and `CsvLogger`.
//!
//!     cargo run --release --example augmentation_callbacks

use rill::prelude::*;
use std::error::Error;
use std::path::{Path, PathBuf};

/// Trains on `n` images for up to `epochs`; returns the history and the checkpoints written.
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<(History, Vec<PathBuf>), Box<dyn Error>> {
    set_seed(6);
    let data = rill::datasets::fashion_mnist::load_data()?;
    let (x, y) = (
        data.train.images.slice(0, 0, n)?,
        data.train.labels.slice(0, 0, n)?,
    );
    let train = Dataset::from_tensor_slices(vec![x, y])?
        .shuffle(4096, 0)
        .map_random(7, |mut e, rng| {
            e[0] = e[0].to_dtype(DType::F32)?.div_scalar(255.0)?;
            e[0] = augment::random_flip_left_right(&e[0], rng)?;
            e[0] = augment::random_translation(&e[0], 0.1, rng)?;
            Ok(e)
        })
        .batch(64, false)
        .prefetch(2);
    let test_x = data.test.images.to_dtype(DType::F32)?.div_scalar(255.0)?;
    let val = Dataset::from_tensor_slices(vec![test_x, data.test.labels])?.batch(256, false);

    let mut model = rill::zoo::fashion_mnist_mlp()?;
    model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )?;
    let checkpoints = out.join("best-{epoch:02d}-{val_loss:.3f}.rill");
    let history = model.fit(
        &train,
        FitConfig::default()
            .epochs(epochs)
            .validation_batches(val)
            .callback(
                EarlyStopping::new("val_loss", 3)
                    .min_delta(1e-3)
                    .restore_best_weights(true),
            )
            .callback(ModelCheckpoint::new(checkpoints.to_string_lossy()).save_best_only(true))
            .callback(CsvLogger::new(out.join("training.csv"))),
    )?;
    let mut written: Vec<PathBuf> = std::fs::read_dir(out)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    written.retain(|p| p.extension().is_some_and(|x| x == "rill"));
    written.sort();
    println!("best checkpoints: {written:?}");
    Ok((history, written))
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = Path::new("out/augmentation_callbacks");
    std::fs::create_dir_all(out)?;
    run(60_000, 30, out).map(|_| ())
}
