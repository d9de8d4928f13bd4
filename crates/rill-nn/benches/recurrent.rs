//! `cargo bench -p rill-nn --bench recurrent`: the text classifier of `bench/compare`'s `lstm`
//! workload — Embedding(10,000, 64) → LSTM(64) over 200 tokens → Dense(1), binary
//! cross-entropy, Adam, batch 64 — one training step and predict on 1,000 sequences, on
//! random token ids (timing does not depend on the values); `--quick` shortens it.

use rill_core::{set_seed, Tensor};
use rill_nn::prelude::*;
use std::time::{Duration, Instant};

fn stats(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (samples[0], samples[samples.len() / 2])
}

fn ids(rows: usize, steps: usize, seed: u64) -> Tensor {
    // A linear congruential stream: cheap, reproducible, spread over the vocabulary.
    let mut s = seed;
    let v: Vec<f32> = (0..rows * steps)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % 10_000) as f32
        })
        .collect();
    Tensor::from_vec(v, &[rows, steps]).expect("sizes match")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    set_seed(0);
    let mut model = Sequential::new(vec![
        Box::new(Embedding::new(10_000, 64)) as Box<dyn Layer>,
        Box::new(Lstm::new(64)),
        Box::new(Dense::new(1)),
    ])
    .with_input_shape(&[200])
    .expect("builds");
    model
        .compile(
            Adam::default(),
            BinaryCrossentropy {
                from_logits: true,
                ..Default::default()
            },
            &[],
        )
        .expect("compiles");
    let x = ids(64, 200, 1);
    let y = Tensor::from_vec((0..64).map(|i| (i % 2) as f32).collect(), &[64, 1]).expect("64");
    for _ in 0..3 {
        model.train_on_batch(&x, &y).expect("trains");
    }
    let budget = Duration::from_millis(if quick { 300 } else { 5000 });
    let mut samples = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < budget {
        let t = Instant::now();
        model.train_on_batch(&x, &y).expect("trains");
        samples.push(t.elapsed().as_secs_f64());
    }
    let runs = samples.len();
    let (min, med) = stats(samples);
    if std::env::args().any(|a| a == "--profile") {
        // Where one step's time goes, op by op.
        rill_core::profile::enable();
        for _ in 0..10 {
            model.train_on_batch(&x, &y).expect("trains");
        }
        println!("{}", rill_core::profile::take());
    }
    println!("| benchmark | median | min | runs |");
    println!("|---|---|---|---|");
    println!(
        "| LSTM(64) text classifier, train step, batch 64 × 200 tokens | {:.1} ms | {:.1} ms | {runs} |",
        med * 1e3,
        min * 1e3
    );
    let many = ids(1000, 200, 2);
    let mut samples = Vec::new();
    for _ in 0..if quick { 2 } else { 10 } {
        let t = Instant::now();
        model.predict(&many, 1000).expect("predicts");
        samples.push(t.elapsed().as_secs_f64());
    }
    let runs = samples.len();
    let (min, med) = stats(samples);
    println!(
        "| predict 1,000 sequences of 200 tokens | {:.1} ms | {:.1} ms | {runs} |",
        med * 1e3,
        min * 1e3
    );
}
