//! Masks from `Embedding(mask_zero)` and `Masking` (Keras' semantics, checked against Keras
//! itself in rill-keras' fixtures): a padded sequence gives what its real tokens alone give,
//! whether the padding comes before or after them, through every recurrent layer, both ways,
//! and a masked mean.

use rill_core::{set_seed, Tensor};
use rill_nn::prelude::*;

/// Embedding(mask_zero) → `middle` → a head that reads the sequence to one vector, for
/// sequences of `steps`.
fn model(steps: usize, middle: Box<dyn Layer>, mean: bool) -> Model {
    let mut layers: Vec<Box<dyn Layer>> =
        vec![Box::new(Embedding::new(20, 6).mask_zero(true)), middle];
    if mean {
        layers.push(Box::new(GlobalAveragePooling1D::new()));
    }
    layers.push(Box::new(Dense::new(3)));
    Sequential::new(layers).with_input_shape(&[steps]).unwrap()
}

fn ids(values: &[f32]) -> Tensor {
    Tensor::from_vec(values.to_vec(), &[1, values.len()]).unwrap()
}

#[test]
fn padded_sequences_give_what_their_real_tokens_alone_give() {
    set_seed(0);
    let real = [4.0f32, 9.0, 2.0, 17.0, 5.0];
    let pre: Vec<f32> = [0.0; 4].iter().chain(&real).copied().collect();
    let post: Vec<f32> = real.iter().chain(&[0.0; 4]).copied().collect();
    // (what, the layer between the embedding and the head, whether the head is a masked mean)
    type Case = (&'static str, fn() -> Box<dyn Layer>, bool);
    let cases: Vec<Case> = vec![
        ("LSTM", || Box::new(Lstm::new(5)), false),
        ("GRU", || Box::new(Gru::new(5)), false),
        (
            "GRU reset before",
            || Box::new(Gru::new(5).reset_after(false)),
            false,
        ),
        (
            "SimpleRNN backwards",
            || Box::new(SimpleRnn::new(5).go_backwards(true)),
            false,
        ),
        (
            "Bidirectional LSTM",
            || Box::new(Bidirectional::new(Lstm::new(4)).unwrap()),
            false,
        ),
        (
            "LSTM sequences, masked mean",
            || Box::new(Lstm::new(5).return_sequences(true)),
            true,
        ),
        (
            "Bidirectional GRU sequences, masked mean",
            || Box::new(Bidirectional::new(Gru::new(3).return_sequences(true)).unwrap()),
            true,
        ),
    ];
    for (name, middle, mean) in cases {
        let short = model(5, middle(), mean);
        let long = model(9, middle(), mean);
        long.set_weights(&short.get_weights()).unwrap();
        let want = short
            .predict_on_batch(&ids(&real))
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        for padded in [&pre, &post] {
            let got = long
                .predict_on_batch(&ids(padded))
                .unwrap()
                .to_vec::<f32>()
                .unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "{name} {padded:?}: {got:?} vs {want:?}"
                );
            }
        }
        // Without the mask the padding counts: the result differs.
        let config = long.get_config().unwrap().to_string();
        let plain = Model::from_config(
            &serde_json::from_str(&config.replace("\"mask_zero\":true", "\"mask_zero\":false"))
                .unwrap(),
        )
        .unwrap();
        plain.set_weights(&long.get_weights()).unwrap();
        let got = plain
            .predict_on_batch(&ids(&post))
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert!(
            got.iter().zip(&want).any(|(a, b)| (a - b).abs() > 1e-4),
            "{name}"
        );
    }
}

#[test]
fn masking_zeroes_and_masks_padding_steps_and_training_skips_them() {
    set_seed(1);
    // A series padded with all-zero steps at the end; Masking → LSTM learns from real steps.
    let mut m = Sequential::new(vec![
        Box::new(Masking::new(0.0)) as Box<dyn Layer>,
        Box::new(Lstm::new(4)),
        Box::new(Dense::new(1)),
    ])
    .with_input_shape(&[6, 2])
    .unwrap();
    let short = Sequential::new(vec![
        Box::new(Masking::new(0.0)) as Box<dyn Layer>,
        Box::new(Lstm::new(4)),
        Box::new(Dense::new(1)),
    ])
    .with_input_shape(&[3, 2])
    .unwrap();
    short.set_weights(&m.get_weights()).unwrap();
    let real = Tensor::from_vec(vec![0.5f32, -1.0, 0.25, 2.0, 1.5, 0.75], &[1, 3, 2]).unwrap();
    let padded = real.pad(&[(0, 0), (0, 3), (0, 0)], 0.0).unwrap();
    let a = m
        .predict_on_batch(&padded)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let b = short
        .predict_on_batch(&real)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!((a[0] - b[0]).abs() < 1e-6, "{a:?} vs {b:?}");
    // The gradient reaches the weights through the masked steps only: a step of training on
    // the padded batch moves the weights as one on the real steps does.
    m.compile(Sgd::new(0.1), MeanSquaredError::default(), &[])
        .unwrap();
    let mut s2 = short;
    s2.compile(Sgd::new(0.1), MeanSquaredError::default(), &[])
        .unwrap();
    let y = Tensor::from_vec(vec![1.0f32], &[1, 1]).unwrap();
    m.train_on_batch(&padded, &y).unwrap();
    s2.train_on_batch(&real, &y).unwrap();
    for (p, q) in m.get_weights().iter().zip(s2.get_weights()) {
        for (x, z) in p
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .zip(q.to_vec::<f32>().unwrap())
        {
            assert!((x - z).abs() < 1e-6);
        }
    }
}
