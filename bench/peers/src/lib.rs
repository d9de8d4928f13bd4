//! What the burn and candle workers share: command-line options, the Fashion-MNIST files, the
//! shuffling, and the one JSON line each run prints for `bench/compare`.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The four workloads of `bench/compare`; see `bench/README.md`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Workload {
    Mlp,
    Cnn,
    Predict,
    Latency,
}

/// One run's options, parsed from `--workload W --data DIR --epochs N --steps N --seed S`.
#[derive(Clone, Debug)]
pub struct Options {
    pub workload: Workload,
    pub data: String,
    pub epochs: usize,
    /// For the CNN: stop each epoch after this many steps (0 = the whole epoch).
    pub steps: usize,
    pub seed: u64,
    pub repeats: usize,
}

impl Options {
    pub fn from_args() -> Options {
        let mut o = Options {
            workload: Workload::Mlp,
            data: "data/fashion-mnist".into(),
            epochs: 1,
            steps: 0,
            seed: 0,
            repeats: 1000,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        for pair in args.chunks(2) {
            let value = pair.get(1).unwrap_or_else(|| panic!("{} needs a value", pair[0]));
            match pair[0].as_str() {
                "--workload" => {
                    o.workload = match value.as_str() {
                        "mlp" => Workload::Mlp,
                        "cnn" => Workload::Cnn,
                        "predict" => Workload::Predict,
                        "latency" => Workload::Latency,
                        other => panic!("unknown workload {other}"),
                    }
                }
                "--data" => o.data = value.clone(),
                "--epochs" => o.epochs = value.parse().expect("--epochs"),
                "--steps" => o.steps = value.parse().expect("--steps"),
                "--seed" => o.seed = value.parse().expect("--seed"),
                "--repeats" => o.repeats = value.parse().expect("--repeats"),
                other => panic!("unknown option {other}"),
            }
        }
        o
    }
}

/// Fashion-MNIST as every worker feeds it: pixels scaled to [0, 1], labels as integers.
pub struct FashionMnist {
    pub train_x: Vec<f32>,
    pub train_y: Vec<u8>,
    pub test_x: Vec<f32>,
    pub test_y: Vec<u8>,
}

fn read_idx(path: &Path, header_len: usize) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.split_off(header_len)
}

impl FashionMnist {
    pub fn load(dir: &str) -> FashionMnist {
        let dir = Path::new(dir);
        let scale = |v: Vec<u8>| v.into_iter().map(|p| p as f32 / 255.0).collect::<Vec<f32>>();
        FashionMnist {
            train_x: scale(read_idx(&dir.join("train-images-idx3-ubyte.gz"), 16)),
            train_y: read_idx(&dir.join("train-labels-idx1-ubyte.gz"), 8),
            test_x: scale(read_idx(&dir.join("t10k-images-idx3-ubyte.gz"), 16)),
            test_y: read_idx(&dir.join("t10k-labels-idx1-ubyte.gz"), 8),
        }
    }
}

/// A seeded order of the training examples, reshuffled every epoch as `fit(shuffle=True)` does.
pub struct Shuffler {
    rng: rand::rngs::StdRng,
    order: Vec<usize>,
}

impl Shuffler {
    pub fn new(n: usize, seed: u64) -> Shuffler {
        Shuffler { rng: rand::rngs::StdRng::seed_from_u64(seed), order: (0..n).collect() }
    }

    /// The next epoch's batches of indices.
    pub fn epoch(&mut self, batch: usize) -> Vec<Vec<usize>> {
        self.order.shuffle(&mut self.rng);
        self.order.chunks(batch).map(|c| c.to_vec()).collect()
    }
}

/// Copies the rows `idx` of `x` (rows of `row` floats) and their labels into one batch.
pub fn gather(x: &[f32], y: &[u8], idx: &[usize], row: usize) -> (Vec<f32>, Vec<u8>) {
    let mut bx = Vec::with_capacity(idx.len() * row);
    let mut by = Vec::with_capacity(idx.len());
    for &i in idx {
        bx.extend_from_slice(&x[i * row..(i + 1) * row]);
        by.push(y[i]);
    }
    (bx, by)
}

/// Fraction of rows of `logits` (`classes` wide) whose largest entry is at the label.
pub fn accuracy(logits: &[f32], labels: &[u8], classes: usize) -> f64 {
    let right = logits
        .chunks(classes)
        .zip(labels)
        .filter(|(row, &label)| {
            let best = row
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            best.0 == label as usize
        })
        .count();
    right as f64 / labels.len() as f64
}

/// Times `f` `n` times after a few warm-up calls; returns the sorted seconds.
pub fn time_calls(n: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..n.min(20) {
        f();
    }
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// The one line of output `bench/compare` reads.
pub fn report(framework: &str, version: &str, o: &Options, fields: serde_json::Value) {
    let mut line = serde_json::json!({
        "framework": framework,
        "version": version,
        "workload": format!("{:?}", o.workload).to_lowercase(),
    });
    if let (Some(line), Some(fields)) = (line.as_object_mut(), fields.as_object()) {
        line.extend(fields.clone());
    }
    println!("{line}");
}
