//! Keras guide "Transfer learning & fine-tuning", in Rill: a convolutional base trained on one
//! task (Fashion-MNIST's five kinds of clothing), frozen, reused under a new head for another
//! task (the five kinds of shoes and bags) from a sixth of its samples, then fine-tuned at a low rate.
//!
//!     cargo run --release --example transfer_learning

use rill::datasets::Split;
use rill::prelude::*;
use std::error::Error;
use std::sync::Arc;

/// Up to `n` samples of the classes `first..first + 5`, relabelled 0..5.
fn five_classes(s: &Split, first: u8, n: usize) -> rill::core::Result<(Tensor, Tensor)> {
    let labels = s.labels.to_vec::<u8>()?;
    let picked: Vec<usize> = (0..labels.len())
        .filter(|&i| (first..first + 5).contains(&labels[i]))
        .take(n)
        .collect();
    let idx = Tensor::from_vec(picked.iter().map(|&i| i as i64).collect(), &[picked.len()])?;
    let y = picked.iter().map(|&i| (labels[i] - first) as i64).collect();
    Ok((
        s.images.index_select(0, &idx)?,
        Tensor::from_vec(y, &[picked.len()])?,
    ))
}

/// A model of `base` (shared, not copied) under a new 5-class head.
fn with_head(base: &Arc<dyn Layer>) -> rill::nn::Result<Model> {
    let mut g = FunctionalBuilder::new();
    let input = g.input(&[28, 28]);
    let features = g.shared("base", base.clone(), input)?;
    let out = g.layer(Dense::new(5), features)?;
    g.build(&[input], &[out])
}

/// Returns the new task's test accuracy with the frozen base, then after fine-tuning, and
/// whether the frozen base's weights stayed exactly as they were.
pub fn run(n_base: usize, n_new: usize, epochs: usize) -> Result<(f64, f64, bool), Box<dyn Error>> {
    set_seed(5);
    let data = rill::datasets::fashion_mnist::load_data()?;
    let base: Arc<dyn Layer> = Arc::new(
        Sequential::new(vec![
            Box::new(Reshape::new(&[28, 28, 1])),
            Box::new(Rescaling::new(1.0 / 255.0, 0.0)),
            Box::new(Conv2D::new(16, (3, 3)).activation(Activation::Relu)),
            Box::new(MaxPooling2D::new((2, 2))),
            Box::new(Conv2D::new(32, (3, 3)).activation(Activation::Relu)),
            Box::new(MaxPooling2D::new((2, 2))),
            Box::new(Flatten::new()),
            Box::new(Dense::new(64).activation(Activation::Relu)),
        ])
        .with_input_shape(&[28, 28])?,
    );
    let fit = |epochs| FitConfig::default().epochs(epochs);
    let loss = SparseCategoricalCrossentropy::from_logits;

    // 1. Train the base on the first task: T-shirts, trousers, pullovers, dresses, coats.
    let mut first = with_head(&base)?;
    first.compile(Adam::new(1e-3), loss(), &["accuracy"])?;
    first.fit(five_classes(&data.train, 0, n_base)?, fit(epochs))?;

    // 2. Freeze it; train only a new head on the second task, with few samples.
    base.set_trainable(false);
    let mut second = with_head(&base)?;
    println!("{}", second.summary());
    second.compile(Adam::new(1e-3), loss(), &["accuracy"])?;
    let before = base
        .variables()
        .iter()
        .map(|v| v.value().to_vec::<f32>())
        .collect::<Result<Vec<_>, _>>()?;
    second.fit(five_classes(&data.train, 5, n_new)?, fit(epochs))?;
    let after = base
        .variables()
        .iter()
        .map(|v| v.value().to_vec::<f32>())
        .collect::<Result<Vec<_>, _>>()?;
    let test = five_classes(&data.test, 5, usize::MAX)?;
    let frozen_acc = second.evaluate(test.clone(), 256)?["accuracy"];

    // 3. Fine-tune everything at a low rate.
    base.set_trainable(true);
    second.compile(Adam::new(1e-5), loss(), &["accuracy"])?;
    second.fit(five_classes(&data.train, 5, n_new)?, fit(1))?;
    let tuned_acc = second.evaluate(test, 256)?["accuracy"];
    println!("new task: {frozen_acc:.4} with the base frozen, {tuned_acc:.4} fine-tuned");
    Ok((frozen_acc, tuned_acc, before == after))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(30_000, 5_000, 5).map(|_| ())
}
