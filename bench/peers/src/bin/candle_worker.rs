//! The benchmark workloads in candle 0.11 (candle-nn), written as candle's MNIST example does.

use std::time::Instant;

use candle_core::{DType, Device, Module, ModuleT, Result, Tensor};
use candle_nn::{conv2d, linear, loss, AdamW, Conv2d, Conv2dConfig, Dropout, Linear, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rill_bench_peers::{accuracy, gather, report, time_calls, FashionMnist, Options, Shuffler, Workload};

trait Model {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor>;
}

struct Mlp {
    hidden: Linear,
    output: Linear,
}

impl Mlp {
    fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Mlp { hidden: linear(784, 128, vb.pp("hidden"))?, output: linear(128, 10, vb.pp("output"))? })
    }
}

impl Model for Mlp {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.output.forward(&self.hidden.forward(x)?.relu()?)
    }
}

struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    dense: Linear,
    dropout: Dropout,
    output: Linear,
}

impl Cnn {
    fn new(vb: VarBuilder) -> Result<Self> {
        let same = Conv2dConfig { padding: 1, ..Default::default() };
        Ok(Cnn {
            conv1: conv2d(1, 32, 3, same, vb.pp("conv1"))?,
            conv2: conv2d(32, 64, 3, same, vb.pp("conv2"))?,
            dense: linear(64 * 7 * 7, 128, vb.pp("dense"))?,
            dropout: Dropout::new(0.25),
            output: linear(128, 10, vb.pp("output"))?,
        })
    }
}

impl Model for Cnn {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let n = x.dim(0)?;
        let x = x.reshape((n, 1, 28, 28))?;
        let x = self.conv1.forward(&x)?.relu()?.max_pool2d(2)?;
        let x = self.conv2.forward(&x)?.relu()?.max_pool2d(2)?;
        let x = self.dense.forward(&x.flatten_from(1)?)?.relu()?;
        self.output.forward(&self.dropout.forward_t(&x, train)?)
    }
}

fn train(model: &dyn Model, varmap: &VarMap, o: &Options, data: &FashionMnist, batch: usize) -> Result<serde_json::Value> {
    let dev = Device::Cpu;
    let params = ParamsAdamW { lr: 1e-3, eps: 1e-7, weight_decay: 0.0, ..Default::default() };
    let mut optim = AdamW::new(varmap.all_vars(), params)?;
    let mut shuffler = Shuffler::new(data.train_y.len(), o.seed);
    let mut epoch_seconds = Vec::new();
    let mut steps_run = 0;
    for _ in 0..o.epochs {
        let start = Instant::now();
        let batches = shuffler.epoch(batch);
        let take = if o.steps == 0 { batches.len() } else { o.steps.min(batches.len()) };
        for idx in &batches[..take] {
            let (bx, by) = gather(&data.train_x, &data.train_y, idx, 784);
            let x = Tensor::from_vec(bx, (idx.len(), 784), &dev)?;
            let y = Tensor::from_vec(by.iter().map(|&l| l as u32).collect::<Vec<u32>>(), idx.len(), &dev)?;
            let loss = loss::cross_entropy(&model.forward_t(&x, true)?, &y)?;
            optim.backward_step(&loss)?;
        }
        steps_run = take;
        epoch_seconds.push(start.elapsed().as_secs_f64());
    }
    let test = Tensor::from_vec(data.test_x.clone(), (data.test_y.len(), 784), &dev)?;
    let logits: Vec<f32> = model.forward_t(&test, false)?.flatten_all()?.to_vec1()?;
    Ok(serde_json::json!({
        "epoch_seconds": epoch_seconds, "steps_per_epoch": steps_run,
        "test_accuracy": accuracy(&logits, &data.test_y, 10),
    }))
}

fn main() -> Result<()> {
    let o = Options::from_args();
    let version = "candle 0.11.1";
    let data = FashionMnist::load(&o.data);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let fields = match o.workload {
        Workload::Mlp => train(&Mlp::new(vb)?, &varmap, &o, &data, 32)?,
        Workload::Cnn => train(&Cnn::new(vb)?, &varmap, &o, &data, 64)?,
        Workload::Predict | Workload::Latency => {
            let model = Mlp::new(vb)?;
            let n = if o.workload == Workload::Predict { data.test_y.len() } else { 1 };
            let rows = data.test_x[..n * 784].to_vec();
            let times = time_calls(o.repeats, || {
                let x = Tensor::from_vec(rows.clone(), (n, 784), &Device::Cpu).expect("input");
                let out = model.forward_t(&x, false).and_then(|t| t.flatten_all()?.to_vec1::<f32>());
                std::hint::black_box(out.expect("forward"));
            });
            serde_json::json!({ "seconds": times })
        }
    };
    report("candle", version, &o, fields);
    Ok(())
}
