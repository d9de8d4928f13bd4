//! `cargo bench -p rill-core`: kernel throughput on this machine, printed as a table.
//! Each row: the median and minimum over repeated runs after a warm-up.

use rill_core::{Conv2dOptions, DType, Generator, Padding, Tensor};
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

/// A `rows`×`cols` operand, stored transposed (as `cols`×`rows`) when `transposed`.
fn stored(g: &mut Generator, rows: usize, cols: usize, transposed: bool) -> Tensor {
    let shape = if transposed {
        [cols, rows]
    } else {
        [rows, cols]
    };
    g.normal(&shape, 0.0, 1.0, DType::F32).unwrap()
}

/// The operand as the product sees it: a transposed view of a transposed store.
fn view(t: &Tensor, transposed: bool) -> Tensor {
    if transposed {
        t.transpose(0, 1).unwrap()
    } else {
        t.clone()
    }
}

fn main() {
    let budget = Duration::from_millis(if std::env::args().any(|a| a == "--quick") {
        100
    } else {
        1500
    });
    let mut g = Generator::new(0);
    println!(
        "rill-core kernels ({} rayon threads, {} kernels; `RILL_ISA` caps them)\n",
        rayon::current_num_threads(),
        rill_core::backend::cpu::isa()
    );
    println!("| benchmark | median | min | rate (at median) |");
    println!("|---|---|---|---|");
    // The tutorial MLP's products (forward, the weight gradient xᵀ·g, the input gradient g·Wᵀ),
    // one image through its first layer, the CNN's second convolution as patches × kernel
    // (forward, weight gradient, input gradient) and the machine's peak at 2048³.
    // `t` marks an operand used as a transposed view, as the gradient rules pass it.
    for (m, k, n, ta, tb) in [
        (1, 784, 128, false, false),
        (32, 784, 128, false, false),
        (784, 32, 128, true, false),
        (32, 128, 784, false, true),
        (12544, 288, 64, false, false),
        (288, 12544, 64, true, false),
        (12544, 64, 288, false, true),
        (2048, 2048, 2048, false, false),
    ] {
        let a = stored(&mut g, m, k, ta);
        let b = stored(&mut g, k, n, tb);
        let (a, b) = (view(&a, ta), view(&b, tb));
        let (min, med) = time(budget, || {
            std::hint::black_box(a.matmul(&b).unwrap());
        });
        let flop = 2.0 * (m * n * k) as f64;
        let name = format!(
            "{m}x{k}{}x{n}{}",
            if ta { "ᵀ" } else { "" },
            if tb { "ᵀ" } else { "" }
        );
        println!(
            "| GEMM {name} f32 | {:.1} µs | {:.1} µs | {:.1} GFLOP/s |",
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
    // The CNN's second layer, forward and both gradients (3×3, stride 1: Winograd's transforms).
    {
        let x2 = g
            .normal(&[64, 14, 14, 32], 0.0, 1.0, DType::F32)
            .unwrap()
            .set_requires_grad(true)
            .unwrap();
        let w2 = g
            .normal(&[3, 3, 32, 64], 0.0, 0.1, DType::F32)
            .unwrap()
            .set_requires_grad(true)
            .unwrap();
        let (min, med) = time(budget, || {
            let loss = x2.conv2d(&w2, &opts).unwrap().sum(&[], false).unwrap();
            std::hint::black_box(loss.backward().unwrap());
        });
        println!(
            "| conv2d fwd+bwd 64x14x14x32 * 3x3x32x64 | {:.1} µs | {:.1} µs | {:.2} GFLOP/s |",
            med * 1e6,
            min * 1e6,
            3.0 * 2.0 * (64 * 14 * 14 * 9 * 32 * 64) as f64 / med / 1e9
        );
    }
    // The first layer max-pooled over 2×2 tiles: the convolution's output and patches written
    // out and pooled, against the direct kernel that pools in registers (`conv2d_max_pool2d`).
    for direct in [false, true] {
        let (min, med) = time(budget, || {
            let pooled = if direct {
                x.conv2d_max_pool2d(&w, &opts, (2, 2), (2, 2), Padding::Valid)
            } else {
                x.conv2d(&w, &opts)
                    .and_then(|y| y.max_pool2d((2, 2), (2, 2), Padding::Valid))
            };
            let loss = pooled.unwrap().sum(&[], false).unwrap();
            std::hint::black_box(loss.backward().unwrap());
        });
        println!(
            "| {} fwd+bwd 64x28x28x1 * 3x3x1x32, 2x2 pool | {:.1} µs | {:.1} µs | {:.2} GFLOP/s |",
            if direct {
                "conv2d_max_pool2d"
            } else {
                "conv2d, max_pool2d"
            },
            med * 1e6,
            min * 1e6,
            2.0 * 2.0 * (64 * 28 * 28 * 9 * 32) as f64 / med / 1e9
        );
    }
}
