//! The benchmark workloads in burn 0.22 on its Flex CPU backend, written as burn's book does.

use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rill_bench_peers::{accuracy, gather, report, time_calls, FashionMnist, Options, Shuffler, Workload};

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    relu: Relu,
    output: Linear,
}

impl Mlp {
    fn new(device: &Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(784, 128).init(device),
            relu: Relu::new(),
            output: LinearConfig::new(128, 10).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.relu.forward(self.hidden.forward(x)))
    }
}

#[derive(Module, Debug)]
struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    dense: Linear,
    dropout: Dropout,
    output: Linear,
    relu: Relu,
}

impl Cnn {
    fn new(device: &Device) -> Self {
        Cnn {
            conv1: Conv2dConfig::new([1, 32], [3, 3]).with_padding(PaddingConfig2d::Same).init(device),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).with_padding(PaddingConfig2d::Same).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dense: LinearConfig::new(64 * 7 * 7, 128).init(device),
            dropout: DropoutConfig::new(0.25).init(),
            output: LinearConfig::new(128, 10).init(device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let n = x.dims()[0];
        let x = x.reshape([n, 1, 28, 28]);
        let x = self.pool.forward(self.relu.forward(self.conv1.forward(x)));
        let x = self.pool.forward(self.relu.forward(self.conv2.forward(x)));
        let x = x.flatten(1, 3);
        let x = self.dropout.forward(self.relu.forward(self.dense.forward(x)));
        self.output.forward(x)
    }
}

fn images(x: Vec<f32>, n: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(x, [n, 784]), device)
}

fn labels(y: &[u8], device: &Device) -> Tensor<1, Int> {
    let n = y.len();
    let y: Vec<i64> = y.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(y, [n]), device)
}

fn logits_of(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 logits")
}

macro_rules! train {
    ($model:expr, $o:expr, $data:expr, $device:expr, $batch:expr) => {{
        let mut model = $model;
        let mut optim = AdamConfig::new().with_epsilon(1e-7).init();
        let loss_fn = CrossEntropyLossConfig::new().init(&$device);
        let mut shuffler = Shuffler::new($data.train_y.len(), $o.seed);
        let mut epoch_seconds = Vec::new();
        let mut steps_run = 0;
        for _ in 0..$o.epochs {
            let start = Instant::now();
            let batches = shuffler.epoch($batch);
            let take = if $o.steps == 0 { batches.len() } else { $o.steps.min(batches.len()) };
            for idx in &batches[..take] {
                let (bx, by) = gather(&$data.train_x, &$data.train_y, idx, 784);
                let logits = model.forward(images(bx, idx.len(), &$device));
                let loss = loss_fn.forward(logits, labels(&by, &$device));
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-3, model, grads);
            }
            steps_run = take;
            epoch_seconds.push(start.elapsed().as_secs_f64());
        }
        let model = model.valid();
        let plain = Device::flex();
        let test = images($data.test_x.clone(), $data.test_y.len(), &plain);
        let acc = accuracy(&logits_of(model.forward(test)), &$data.test_y, 10);
        (epoch_seconds, steps_run, acc)
    }};
}

fn main() {
    let o = Options::from_args();
    let device = Device::flex();
    device.seed(o.seed);
    let version = "burn 0.22.1 (flex, simd, rayon, x86-v4)";
    match o.workload {
        Workload::Mlp | Workload::Cnn => {
            let data = FashionMnist::load(&o.data);
            let train = device.clone().autodiff();
            let (epoch_seconds, steps, acc) = if o.workload == Workload::Mlp {
                train!(Mlp::new(&train), o, data, train, 32)
            } else {
                train!(Cnn::new(&train), o, data, train, 64)
            };
            report("burn", version, &o, serde_json::json!({
                "epoch_seconds": epoch_seconds, "steps_per_epoch": steps, "test_accuracy": acc,
            }));
        }
        Workload::Predict => {
            let data = FashionMnist::load(&o.data);
            let model = Mlp::new(&device);
            let n = data.test_y.len();
            let times = time_calls(o.repeats, || {
                let out = model.forward(images(data.test_x.clone(), n, &device));
                std::hint::black_box(logits_of(out));
            });
            report("burn", version, &o, serde_json::json!({ "seconds": times }));
        }
        Workload::Latency => {
            let data = FashionMnist::load(&o.data);
            let model = Mlp::new(&device);
            let one = data.test_x[..784].to_vec();
            let times = time_calls(o.repeats, || {
                let out = model.forward(images(one.clone(), 1, &device));
                std::hint::black_box(logits_of(out));
            });
            report("burn", version, &o, serde_json::json!({ "seconds": times }));
        }
    }
}
