//! Keras guide "Writing a training loop from scratch", in Rill: the model called on each batch,
//! the loss's gradients taken with `backward` (TensorFlow's `GradientTape`), applied by the
//! optimizer, with a metric updated by hand and a validation pass per epoch.
//!
//!     cargo run --release --example custom_training_loop

use rill::prelude::*;
use std::error::Error;

/// Trains on `n` images for `epochs`; returns the validation accuracy of each epoch.
pub fn run(n: usize, epochs: usize) -> Result<Vec<f64>, Box<dyn Error>> {
    set_seed(4);
    let model = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Rescaling::new(1.0 / 255.0, 0.0)),
        Box::new(Dense::new(64).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])?;
    let mut optimizer = Adam::new(1e-3);
    let loss_fn = SparseCategoricalCrossentropy::from_logits();
    let mut train_acc = Accuracy::new("accuracy", AccuracyKind::SparseCategorical);
    let mut val_acc = train_acc.clone();

    let data = rill::datasets::fashion_mnist::load_data()?;
    let (x, y) = (
        data.train.images.slice(0, 0, n)?,
        data.train.labels.slice(0, 0, n)?,
    );
    let train = Dataset::from_tensor_slices(vec![x, y])?
        .shuffle(1024, 0)
        .batch(64, false);
    let val =
        Dataset::from_tensor_slices(vec![data.test.images, data.test.labels])?.batch(256, false);

    let mut history = Vec::new();
    for epoch in 0..epochs {
        for (step, batch) in train.iter().enumerate() {
            let batch = batch?;
            let (x, y) = (&batch[0], &batch[1]);
            let logits = model.call(x, true)?; // recorded: gradients flow back through it
            let loss = loss_fn.compute(y, &logits)?;
            let grads = loss.backward()?;
            optimizer.apply(&model.trainable_variables(), &grads)?;
            train_acc.update(y, &logits)?;
            if step % 200 == 0 {
                println!("epoch {epoch} step {step}: loss {:.4}", loss.item::<f32>()?);
            }
        }
        for batch in val.iter() {
            let batch = batch?;
            let logits = no_grad(|| model.call(&batch[0], false))?;
            val_acc.update(&batch[1], &logits)?;
        }
        println!(
            "epoch {epoch}: accuracy {:.4}, val_accuracy {:.4}",
            train_acc.result(),
            val_acc.result()
        );
        history.push(val_acc.result());
        train_acc.reset();
        val_acc.reset();
    }
    Ok(history)
}

fn main() -> Result<(), Box<dyn Error>> {
    run(60_000, 3).map(|_| ())
}
