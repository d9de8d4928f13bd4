//! `cargo bench -p rill-nn`: the tutorial MLP (784 → 128 relu → 10, Adam, batch 32) on this
//! machine — one training step, one epoch over 60,000 samples, predict on 10,000, and
//! single-image latency. Data is random with the tutorial's shapes (timing does not depend on
//! the values); `--quick` shortens every measurement for CI smoke runs.

use rill_core::{set_seed, DType, Generator, Tensor};
use rill_nn::prelude::*;
use std::time::{Duration, Instant};

fn stats(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (samples[0], samples[samples.len() / 2])
}

fn tutorial_model() -> Sequential {
    let mut m = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
    .unwrap();
    m.compile(
        Adam::default(),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    m
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    set_seed(0);
    let mut g = Generator::new(1);
    let n_train = if quick { 6_000 } else { 60_000 };
    let x = g.uniform(&[n_train, 28, 28], 0.0, 1.0, DType::F32).unwrap();
    let y = Tensor::from_vec(
        (0..n_train as i64).map(|i| (i * 7) % 10).collect(),
        &[n_train],
    )
    .unwrap();
    let test_x = g.uniform(&[10_000, 28, 28], 0.0, 1.0, DType::F32).unwrap();
    let mut model = tutorial_model();

    println!(
        "Tutorial MLP, 784 → 128 relu → 10, Adam, batch 32 ({} rayon threads)\n",
        rayon::current_num_threads()
    );
    println!("| benchmark | median | min | runs |");
    println!("|---|---|---|---|");

    // One step: forward, backward, Adam, on a fixed batch.
    let bx = x.slice(0, 0, 32).unwrap();
    let by = y.slice(0, 0, 32).unwrap();
    for _ in 0..50 {
        model.train_on_batch(&bx, &by).unwrap();
    }
    let budget = Duration::from_millis(if quick { 200 } else { 3000 });
    let mut samples = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < budget {
        let t = Instant::now();
        model.train_on_batch(&bx, &by).unwrap();
        samples.push(t.elapsed().as_secs_f64());
    }
    let runs = samples.len();
    let (min, med) = stats(samples);
    println!(
        "| train step (fwd+bwd+Adam) | {:.0} µs | {:.0} µs | {runs} |",
        med * 1e6,
        min * 1e6
    );

    // Whole epochs through fit (shuffle, batching, metrics included).
    let epochs = if quick { 1 } else { 5 };
    let mut samples = Vec::new();
    for e in 0..epochs {
        let t = Instant::now();
        model
            .fit(
                (&x, &y),
                FitConfig::default()
                    .epochs(1)
                    .seed(e)
                    .verbose(Verbosity::Silent),
            )
            .unwrap();
        samples.push(t.elapsed().as_secs_f64());
    }
    let (min, med) = stats(samples);
    println!("| fit, one epoch of {n_train} samples | {med:.3} s | {min:.3} s | {epochs} |");

    let mut samples = Vec::new();
    for _ in 0..if quick { 2 } else { 10 } {
        let t = Instant::now();
        std::hint::black_box(model.predict(&test_x, 1024).unwrap());
        samples.push(t.elapsed().as_secs_f64());
    }
    let runs = samples.len();
    let (min, med) = stats(samples);
    println!("| predict 10,000 images (batch 1024) | {med:.4} s | {min:.4} s | {runs} |");

    let one = test_x.slice(0, 0, 1).unwrap();
    let mut samples = Vec::new();
    for _ in 0..if quick { 100 } else { 5000 } {
        let t = Instant::now();
        std::hint::black_box(model.predict_on_batch(&one).unwrap());
        samples.push(t.elapsed().as_secs_f64());
    }
    let runs = samples.len();
    let (min, med) = stats(samples);
    println!(
        "| single-image latency | {:.1} µs | {:.1} µs | {runs} |",
        med * 1e6,
        min * 1e6
    );
}
