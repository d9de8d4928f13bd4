//! Keras guide "Working with RNNs", in Rill: sequences of different lengths, padded with
//! zeros and masked (`Embedding(mask_zero)`), through a `Bidirectional(LSTM)` and a `GRU`,
//! trained, evaluated, saved as `.keras` (which Keras opens) and reloaded.
//!
//! The task needs order and ignores padding: each sequence holds tokens 1 and 2 somewhere,
//! and the label says whether 1 comes first — a bag of words cannot tell, a recurrent layer
//! can, and the padding (zeros, before or after the real tokens) must change nothing.
//!
//!     cargo run --release --example recurrent_layers

use rill::prelude::*;
use std::{error::Error, path::Path};

/// The longest sequence; shorter ones are padded with zeros to it.
const STEPS: usize = 16;
/// Token ids 1 and 2 are the markers, 3.. the rest, 0 is padding.
const VOCABULARY: usize = 30;

/// `n` padded sequences of 6 to 16 real tokens (half padded before, half after) and labels.
pub fn dataset(n: usize, seed: u64) -> rill::core::Result<(Tensor, Tensor)> {
    let mut g = rill::core::Generator::new(seed);
    let u = g
        .uniform(&[n, 4 + STEPS], 0.0, 1.0, DType::F32)?
        .to_vec::<f32>()?;
    let mut ids = vec![0.0f32; n * STEPS];
    let mut labels = vec![0.0f32; n];
    for i in 0..n {
        let r = &u[i * (4 + STEPS)..][..4 + STEPS];
        let len = 6 + (r[0] * (STEPS - 5) as f32) as usize % (STEPS - 5);
        let start = if r[1] < 0.5 { 0 } else { STEPS - len };
        let row = &mut ids[i * STEPS..][..STEPS];
        for (k, v) in row[start..start + len].iter_mut().enumerate() {
            *v = 3.0
                + (r[4 + k] * (VOCABULARY - 3) as f32)
                    .floor()
                    .min((VOCABULARY - 4) as f32);
        }
        let a = (r[2] * len as f32) as usize % len;
        let b = (a + 1 + (r[3] * (len - 1) as f32) as usize % (len - 1)) % len;
        row[start + a] = 1.0;
        row[start + b] = 2.0;
        labels[i] = f32::from(a < b);
    }
    Ok((
        Tensor::from_vec(ids, &[n, STEPS])?,
        Tensor::from_vec(labels, &[n, 1])?,
    ))
}

/// The classifier: masked embedding → Bidirectional LSTM (every step) → GRU → logit.
pub fn model() -> Result<Model, Box<dyn Error>> {
    Ok(Sequential::new(vec![
        Box::new(Embedding::new(VOCABULARY, 16).mask_zero(true)),
        Box::new(Bidirectional::new(Lstm::new(16).return_sequences(true))?),
        Box::new(Gru::new(16)),
        Box::new(Dense::new(1)),
    ])
    .with_input_shape(&[STEPS])?)
}

/// Trains on `n` sequences for `epochs`; returns the test accuracy and how far the reloaded
/// `.keras` model's predictions are from the trained one's.
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<(f64, f32), Box<dyn Error>> {
    set_seed(7);
    let (x, y) = dataset(n, 1)?;
    let (test_x, test_y) = dataset(1000, 2)?;
    let mut model = model()?;
    println!("{}", model.summary());
    model.compile(
        Adam::new(5e-3),
        BinaryCrossentropy {
            from_logits: true,
            ..Default::default()
        },
        &["binary_accuracy"],
    )?;
    model.fit((x, y), FitConfig::default().epochs(epochs).batch_size(32))?;
    let logs = model.evaluate((test_x.clone(), test_y), 256)?;
    let accuracy = logs["binary_accuracy"];
    println!("test accuracy {accuracy:.3}");
    std::fs::create_dir_all(out)?;
    let path = out.join("order.keras");
    save_model(&model, &path)?;
    let again = load_model(&path)?;
    let (a, b) = (
        model.predict_on_batch(&test_x)?.to_vec::<f32>()?,
        again.predict_on_batch(&test_x)?.to_vec::<f32>()?,
    );
    let diff = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max);
    println!(
        "saved {} and reloaded it: largest difference {diff}",
        path.display()
    );
    Ok((accuracy, diff))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(4000, 8, "out".as_ref()).map(|_| ())
}
