//! `cargo bench -p rill`: the whole main command — the Fashion-MNIST tutorial, 10 epochs of the
//! MLP with every picture — timed end to end (runs, min, median), and one epoch of the CNN.
//! `--quick` runs one MLP epoch only (for CI smoke tests).

#[allow(dead_code)]
#[path = "../examples/fashion_mnist.rs"]
mod tutorial;

use clap::Parser;
use std::time::Instant;

fn run(args: &[&str]) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut argv = vec![
        "fashion_mnist",
        "--out",
        dir.path().to_str().expect("utf-8 path"),
    ];
    argv.extend_from_slice(args);
    let t = Instant::now();
    let report = tutorial::run(tutorial::Args::parse_from(argv)).expect("tutorial runs");
    (t.elapsed().as_secs_f64(), report.test_accuracy)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let mut rows = Vec::new();
    let (runs, mlp_args): (usize, &[&str]) = if quick {
        (1, &["--epochs", "1"])
    } else {
        (3, &[])
    };
    let mut times = Vec::new();
    let mut acc = 0.0;
    for _ in 0..runs {
        let (s, a) = run(mlp_args);
        times.push(s);
        acc = a;
    }
    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    rows.push(format!(
        "| tutorial, MLP, {} epochs, pictures included | {:.1} s | {:.1} s | {runs} | {acc:.4} |",
        if quick { 1 } else { 10 },
        times[runs / 2],
        times[0]
    ));
    if !quick {
        let (s, a) = run(&["--model", "cnn", "--epochs", "1"]);
        rows.push(format!(
            "| tutorial, CNN, 1 epoch, pictures included | {s:.1} s | {s:.1} s | 1 | {a:.4} |"
        ));
    }
    println!("\n| workload | median | min | runs | test accuracy |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
