//! Keras guide "Text classification from scratch", in Rill: raw strings in, a model that holds
//! its own `TextVectorization` — adapted on the training text, so its vocabulary is saved with
//! the model — trained by `fit` on strings, saved as `.keras` (Keras opens it, vocabulary and
//! all) and reloaded, and asked about new sentences.
//!
//! The reviews are generated (a corpus that ships offline with a package registry is still to
//! be chosen, see docs/src/text.md): each holds filler words, one word of praise or of blame in
//! any case, with punctuation — the layer's standardization must see through the case and the
//! punctuation, and the model must find the two dozen words that matter among the rest.
//!
//!     cargo run --release --example text_classification

use rill::nn::layers::{Layer, TextVectorization};
use rill::prelude::*;
use std::{error::Error, path::Path};

const PRAISE: &[&str] = &["great", "superb", "moving", "fun", "brilliant", "charming"];
const BLAME: &[&str] = &["dull", "boring", "flat", "weak", "clumsy", "tedious"];
const FILLER: &[&str] = &[
    "the", "film", "was", "a", "story", "acting", "plot", "and", "it", "cast", "scenes",
    "director", "ending", "music", "of", "with", "in", "this", "its", "really",
];

/// `n` reviews (strings) and their labels (1: praise), from `seed`.
pub fn reviews(n: usize, seed: u64) -> (Vec<String>, Vec<f32>) {
    let mut g = rill::core::Generator::new(seed);
    let mut texts = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let positive = g.below(2) == 1;
        let words = if positive { PRAISE } else { BLAME };
        let mut s: Vec<String> = (0..4 + g.below(8))
            .map(|_| FILLER[g.below(FILLER.len())].to_string())
            .collect();
        let word = words[g.below(words.len())];
        let word = match g.below(3) {
            0 => word.to_uppercase(),
            1 => format!("{word}!"),
            _ => word.to_string(),
        };
        s.insert(g.below(s.len() + 1), word);
        texts.push(s.join(" ") + ".");
        labels.push(f32::from(positive));
    }
    (texts, labels)
}

/// The classifier: text → token ids → embedding → average → probability of praise. Its
/// `TextVectorization` is adapted on `train` first.
pub fn model(train: &Tensor) -> Result<Model, Box<dyn Error>> {
    let mut vectorize = TextVectorization::new()
        .max_tokens(100)
        .output_sequence_length(16);
    vectorize.adapt(train)?;
    println!("vocabulary: {:?}…", &vectorize.vocabulary()[..12]);
    Ok(Sequential::new(vec![
        Box::new(vectorize),
        Box::new(Embedding::new(100, 16)),
        Box::new(GlobalAveragePooling1D::new()),
        Box::new(Dense::new(1).activation(Activation::Sigmoid)),
    ])
    .with_input_shape(&[])?)
}

/// Trains on `n` reviews for `epochs`; returns the accuracy on 1,000 new ones and how far the
/// reloaded `.keras` model's predictions are from the trained one's.
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<(f64, f32), Box<dyn Error>> {
    set_seed(5);
    let (texts, labels) = reviews(n, 1);
    let x = Tensor::from_strings(texts, &[n])?;
    let y = Tensor::from_vec(labels, &[n, 1])?;
    let mut model = model(&x)?;
    println!("{}", model.summary());
    model.compile(
        Adam::new(1e-2),
        BinaryCrossentropy::default(),
        &["binary_accuracy"],
    )?;
    model.fit((x, y), FitConfig::default().epochs(epochs).batch_size(32))?;
    let (test_texts, test_labels) = reviews(1000, 2);
    let test_x = Tensor::from_strings(test_texts, &[1000])?;
    let logs = model.evaluate(
        (test_x.clone(), Tensor::from_vec(test_labels, &[1000, 1])?),
        256,
    )?;
    let accuracy = logs["binary_accuracy"];
    println!("test accuracy {accuracy:.3}");

    std::fs::create_dir_all(out)?;
    let path = out.join("reviews.keras");
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
    let new = [
        "A CHARMING story, really.",
        "the plot was tedious",
        "music and scenes",
    ];
    let p = again.predict_on_batch(&Tensor::from_strings(new.to_vec(), &[3])?)?;
    for (text, p) in new.iter().zip(p.to_vec::<f32>()?) {
        println!("{p:.3}  {text:?}");
    }
    Ok((accuracy, diff))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(4000, 5, Path::new("target/text_classification"))?;
    Ok(())
}
