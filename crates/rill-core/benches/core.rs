//! `cargo bench -p rill-core`: kernel throughput on this machine, printed as a table.
//! Each row: the median and minimum over repeated runs after a warm-up.

use rill_core::{Conv2dOptions, DType, Generator, Padding};
use std::time::{Duration, Instant};

/// Runs `f` repeatedly for about `budget` and returns (min, median) seconds per call.
fn time(budget: Duration, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (samples[0], samples[samples.len() / 2])
}

fn main() {
    let budget = Duration::from_millis(if std::env::args().any(|a| a == "--quick") {
        100
    } else {
        1500
    });
    let mut g = Generator::new(0);
    println!(
        "rill-core kernels ({} rayon threads)\n",
        rayon::current_num_threads()
    );
    println!("| benchmark | median | min | rate (at median) |");
    println!("|---|---|---|---|");
    for (m, k, n) in [(32, 784, 128), (784, 32, 128), (1024, 1024, 1024)] {
        let a = g.normal(&[m, k], 0.0, 1.0, DType::F32).unwrap();
        let b = g.normal(&[k, n], 0.0, 1.0, DType::F32).unwrap();
        let (min, med) = time(budget, || {
            std::hint::black_box(a.matmul(&b).unwrap());
        });
        let flop = 2.0 * (m * n * k) as f64;
        println!(
            "| GEMM {m}x{k}x{n} f32 | {:.1} µs | {:.1} µs | {:.1} GFLOP/s |",
            med * 1e6,
            min * 1e6,
            flop / med / 1e9
        );
    }
    let x = g.normal(&[64, 28, 28, 1], 0.0, 1.0, DType::F32).unwrap();
    let w = g
        .normal(&[3, 3, 1, 32], 0.0, 0.1, DType::F32)
        .unwrap()
        .set_requires_grad(true)
        .unwrap();
    let opts = Conv2dOptions {
        strides: (1, 1),
        padding: Padding::Same,
        dilation: (1, 1),
    };
    let (min, med) = time(budget, || {
        let loss = x.conv2d(&w, &opts).unwrap().sum(&[], false).unwrap();
        std::hint::black_box(loss.backward().unwrap());
    });
    println!(
        "| conv2d fwd+bwd 64x28x28x1 * 3x3x1x32 | {:.1} µs | {:.1} µs | {:.2} GFLOP/s |",
        med * 1e6,
        min * 1e6,
        2.0 * 2.0 * (64 * 28 * 28 * 9 * 32) as f64 / med / 1e9
    );
}
