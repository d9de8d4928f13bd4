//! Rill's worker for `bench/compare`: runs one workload and prints one JSON line, as the
//! TensorFlow, PyTorch, burn and candle workers do (see `bench/README.md`).
//!
//!     cargo run --release -p rill-bench-worker -- --workload mlp --epochs 1

use clap::{Parser, ValueEnum};
use rill::datasets::{fashion_mnist, DataSource};
use rill::prelude::*;
use serde_json::json;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Workload {
    /// The tutorial MLP: 784 → 128 relu → 10, Adam 1e-3, batch 32, shuffled.
    Mlp,
    /// The tutorial CNN ("same" padding, Dropout 0.25), Adam 1e-3, batch 64.
    Cnn,
    /// Predict the 10,000 test images in one batch with the MLP.
    Predict,
    /// Predict one image with the MLP.
    Latency,
    /// A 2048×2048×2048 matrix product: the machine's measured peak, in GFLOP/s.
    Gemm,
    /// Time to accuracy: `rill::zoo`'s residual network trained by its fast recipe, the test
    /// set evaluated after each epoch, until --target test accuracy or the recipe's last epoch.
    Tta,
}

/// Which `rill::zoo` recipe the `tta` workload trains.
#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum RecipeName {
    /// `fashion_mnist_resnet` by `Recipe::fashion_mnist_fast` (93% in a few minutes).
    Fast,
    /// `fashion_mnist_resnet_large` by `Recipe::fashion_mnist_best`, scored with mirror images.
    Best,
}

/// One benchmark run.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum)]
    workload: Workload,
    /// The folder holding the Fashion-MNIST files.
    #[arg(long, default_value = "data/fashion-mnist")]
    data: String,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// CNN: steps per epoch (0 = the whole epoch).
    #[arg(long, default_value_t = 0)]
    steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Timed calls for `predict` and `latency`.
    #[arg(long, default_value_t = 1000)]
    repeats: usize,
    /// Also print the per-op time profile of the run (training workloads), and write its
    /// trace (Chrome's Trace Event JSON, for Perfetto or chrome://tracing) to --trace-file.
    #[arg(long)]
    profile: bool,
    /// Tta: the test accuracy to reach.
    #[arg(long, default_value_t = 0.93)]
    target: f64,
    /// Tta: train for this many epochs instead of the recipe's (the schedule follows).
    #[arg(long)]
    recipe_epochs: Option<usize>,
    /// Tta: erase a rectangle of each training image with this probability instead of the
    /// recipe's choice (0: never), to compare recipes.
    #[arg(long)]
    erasing: Option<f64>,
    /// Tta: save the trained network here (Rill's format), to study it afterwards.
    #[arg(long)]
    save_model: Option<std::path::PathBuf>,
    /// Tta: the recipe and network to train.
    #[arg(long, value_enum, default_value_t = RecipeName::Fast)]
    recipe: RecipeName,
    /// Where --profile writes the trace.
    #[arg(long, default_value = "out/profile.trace.json")]
    trace_file: std::path::PathBuf,
}

/// Records how long each epoch took, as the other workers do.
struct EpochTimer {
    started: Instant,
    seconds: std::sync::Arc<std::sync::Mutex<Vec<f64>>>,
}

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Sequential) -> rill::nn::Result<()> {
        self.started = Instant::now();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &Logs,
        _model: &mut Sequential,
    ) -> rill::nn::Result<()> {
        if let Ok(mut s) = self.seconds.lock() {
            s.push(self.started.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

fn time_calls(n: usize, mut f: impl FnMut() -> rill::nn::Result<()>) -> rill::nn::Result<Vec<f64>> {
    for _ in 0..n.min(20) {
        f()?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// A tutorial model (`rill::zoo`'s layers) behind `Rescaling(1/255)`, taking the images as
/// bytes, as Keras' own image tutorials do: the data set is never held as floats.
fn from_bytes(layers: Vec<Box<dyn Layer>>) -> rill::nn::Result<Sequential> {
    let mut all: Vec<Box<dyn Layer>> = vec![Box::new(Rescaling::new(1.0 / 255.0, 0.0))];
    all.extend(layers);
    Sequential::new(all).with_input_shape(&[28, 28])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    set_seed(args.seed);
    let data = DataSource::from_dir(&args.data).load(&fashion_mnist::DATASET)?;
    let (test_x, test_y) = (&data.test.images, &data.test.labels);
    let mut line = json!({
        "framework": "rill",
        "version": format!("rill {}", env!("CARGO_PKG_VERSION")),
        // The vector extensions the kernels use here (what the CPU has, capped by RILL_ISA).
        "isa": rill::core::backend::cpu::isa().to_string(),
        "workload": format!("{:?}", args.workload).to_lowercase(),
    });
    let fields = match args.workload {
        Workload::Mlp | Workload::Cnn => {
            let (mut model, batch) = if args.workload == Workload::Mlp {
                (from_bytes(rill::zoo::fashion_mnist_mlp_layers())?, 32)
            } else {
                (from_bytes(rill::zoo::fashion_mnist_cnn_layers())?, 64)
            };
            let n = match args.steps {
                0 => data.train.labels.shape()[0],
                s => (s * batch).min(data.train.labels.shape()[0]),
            };
            let x = data.train.images.slice(0, 0, n)?;
            let y = data.train.labels.slice(0, 0, n)?;
            model.compile(
                Adam::default(),
                SparseCategoricalCrossentropy::from_logits(),
                &["accuracy"],
            )?;
            let seconds = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let timer = EpochTimer {
                started: Instant::now(),
                seconds: seconds.clone(),
            };
            if args.profile {
                rill::core::profile::enable_trace();
            }
            model.fit(
                (&x, &y),
                FitConfig::default()
                    .epochs(args.epochs)
                    .batch_size(batch)
                    .seed(args.seed)
                    .verbose(Verbosity::Silent)
                    .callback(timer),
            )?;
            let profile = args.profile.then(rill::core::profile::take_with_trace);
            if let Some((_, events)) = &profile {
                if let Some(dir) = args.trace_file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(
                    &args.trace_file,
                    rill::core::profile::chrome_trace_json(events),
                )?;
                eprintln!("trace: {}", args.trace_file.display());
            }
            let acc = model
                .evaluate((test_x, test_y), 1000)?
                .get("accuracy")
                .copied();
            let epoch_seconds = seconds.lock().map(|s| s.clone()).unwrap_or_default();
            let mut fields = json!({
                "epoch_seconds": epoch_seconds,
                "steps_per_epoch": n.div_ceil(batch),
                "test_accuracy": acc,
            });
            if let Some((p, _)) = profile {
                fields["profile"] = json!(p
                    .rows()
                    .iter()
                    .map(|r| json!({"op": r.name, "phase": r.phase.to_string(), "calls": r.calls, "seconds": r.seconds}))
                    .collect::<Vec<_>>());
            }
            fields
        }
        Workload::Predict | Workload::Latency => {
            // As in the other workers: the plain tutorial MLP on images already scaled to f32.
            let model = rill::zoo::fashion_mnist_mlp()?;
            let scaled = test_x.to_dtype(DType::F32)?.div_scalar(255.0)?;
            let rows = if args.workload == Workload::Predict {
                scaled
            } else {
                scaled.slice(0, 0, 1)?
            };
            let n = rows.shape()[0];
            let times = time_calls(args.repeats, || {
                let out = model.predict(&rows, n)?;
                std::hint::black_box(out.data::<f32>()?);
                Ok(())
            })?;
            json!({ "seconds": times })
        }
        Workload::Tta => time_to_accuracy(&args, &data)?,
        Workload::Gemm => {
            const N: usize = 2048;
            let a = Tensor::rand_uniform(&[N, N], -1.0, 1.0, DType::F32)?;
            let b = Tensor::rand_uniform(&[N, N], -1.0, 1.0, DType::F32)?;
            let times = time_calls(args.repeats, || {
                std::hint::black_box(a.matmul(&b)?);
                Ok(())
            })?;
            let flops = 2.0 * (N as f64).powi(3);
            json!({
                "seconds": times,
                "gflops": flops / times[0] / 1e9,
                "shapes": tutorial_products(args.repeats * 20)?,
            })
        }
    };
    if let (Some(line), Some(fields)) = (line.as_object_mut(), fields.as_object()) {
        line.extend(fields.clone());
    }
    println!("{line}");
    Ok(())
}

/// The tutorial MLP's first layer at batch 32 — its forward product, its weight gradient and
/// the input gradient (the transposes read in place, as the layer reads them) — as
/// `{name: {"seconds": median, "gflops": …}}`, the names shared with the PyTorch worker.
fn tutorial_products(repeats: usize) -> rill::nn::Result<serde_json::Value> {
    let (m, k, n) = (32, 784, 128);
    let x = Tensor::rand_uniform(&[m, k], -1.0, 1.0, DType::F32)?;
    let w = Tensor::rand_uniform(&[k, n], -1.0, 1.0, DType::F32)?;
    let dy = Tensor::rand_uniform(&[m, n], -1.0, 1.0, DType::F32)?;
    let (xt, wt) = (x.transpose(0, 1)?, w.transpose(0, 1)?);
    let products: [(&str, &Tensor, &Tensor); 3] = [
        ("x·w 32×784×128", &x, &w),
        ("xᵀ·dy 784×32×128", &xt, &dy),
        ("dy·wᵀ 32×128×784", &dy, &wt),
    ];
    let mut out = serde_json::Map::new();
    for (name, a, b) in products {
        let times = time_calls(repeats, || {
            std::hint::black_box(a.matmul(b)?);
            Ok(())
        })?;
        let median = times[times.len() / 2];
        let flops = 2.0 * (m * k * n) as f64;
        out.insert(
            name.into(),
            json!({ "seconds": median, "gflops": flops / median / 1e9 }),
        );
    }
    Ok(out.into())
}

/// Times each epoch's training (the test-set evaluation after it is not counted, as DAWNBench
/// counts) and stops once the test accuracy reaches the target.
struct TargetWatch {
    target: f64,
    epoch_started: Instant,
    last_batch_done: Instant,
    log: std::sync::Arc<std::sync::Mutex<Vec<(f64, f64)>>>,
    /// Scores the test set by the recipe's own `accuracy` (mirror images too) instead of the
    /// plain `val_accuracy`.
    recipe_scored: Option<(rill::zoo::Recipe, rill::datasets::Split)>,
}

impl Callback for TargetWatch {
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Model) -> rill::nn::Result<()> {
        self.epoch_started = Instant::now();
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        _step: usize,
        _batch: &rill::nn::callbacks::BatchEnd,
        _model: &mut Model,
    ) -> rill::nn::Result<()> {
        self.last_batch_done = Instant::now();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &Logs,
        model: &mut Model,
    ) -> rill::nn::Result<()> {
        let seconds = (self.last_batch_done - self.epoch_started).as_secs_f64();
        let plain = logs.get("val_accuracy").copied().unwrap_or(f64::NAN);
        let accuracy = match &self.recipe_scored {
            Some((recipe, test)) => recipe.accuracy(model, test)?,
            None => plain,
        };
        if let Ok(mut log) = self.log.lock() {
            log.push((seconds, accuracy));
        }
        let train_accuracy = logs.get("accuracy").copied().unwrap_or(f64::NAN);
        eprintln!(
            "epoch train {seconds:.1} s, accuracy {train_accuracy:.4}, test accuracy {accuracy:.4} \
             (one view {plain:.4})"
        );
        if accuracy >= self.target {
            model.stop_training = true;
        }
        Ok(())
    }
}

fn time_to_accuracy(
    args: &Args,
    data: &rill::datasets::Splits,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (mut recipe, mut model) = match args.recipe {
        RecipeName::Fast => (
            rill::zoo::Recipe::fashion_mnist_fast(),
            rill::zoo::fashion_mnist_resnet()?,
        ),
        RecipeName::Best => (
            rill::zoo::Recipe::fashion_mnist_best(),
            rill::zoo::fashion_mnist_resnet_large()?,
        ),
    };
    if let Some(e) = args.recipe_epochs {
        recipe.epochs = e;
    }
    if let Some(p) = args.erasing {
        recipe.erasing = (p > 0.0).then(|| rill::data::augment::RandomErasing {
            probability: p,
            ..Default::default()
        });
    }
    let recipe_scored =
        (args.recipe == RecipeName::Best).then(|| (recipe.clone(), data.test.clone()));
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let now = Instant::now();
    let watch = TargetWatch {
        target: args.target,
        epoch_started: now,
        last_batch_done: now,
        log: log.clone(),
        recipe_scored,
    };
    let fit = FitConfig::default()
        .seed(args.seed)
        .verbose(Verbosity::Silent)
        .callback(watch);
    if args.profile {
        rill::core::profile::enable();
    }
    recipe.fit(&mut model, &data.train, Some(&data.test), fit)?;
    if let Some(path) = &args.save_model {
        rill::io::save_model(&model, path)?;
    }
    if args.profile {
        for r in rill::core::profile::take().rows().iter().take(25) {
            eprintln!(
                "{:>9.3} s {:>8} {:<10} {}",
                r.seconds, r.calls, r.phase, r.name
            );
        }
    }
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let reached = log.iter().position(|&(_, a)| a >= args.target);
    let seconds_to_target = reached.map(|e| log[..=e].iter().map(|&(s, _)| s).sum::<f64>());
    Ok(json!({
        "epoch_seconds": log.iter().map(|&(s, _)| s).collect::<Vec<_>>(),
        "test_accuracy_per_epoch": log.iter().map(|&(_, a)| a).collect::<Vec<_>>(),
        "target": args.target,
        "recipe_epochs": recipe.epochs,
        "erasing": recipe.erasing.map(|e| e.probability),
        "seconds_to_target": seconds_to_target,
    }))
}
