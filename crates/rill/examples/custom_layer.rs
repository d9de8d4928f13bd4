//! Keras guide "Making new layers and models via subclassing", in Rill: a `Linear` layer with
//! its own weights and config, trained inside a `Sequential`, saved, and loaded back once
//! registered (Keras' `custom_objects`). No dependency beyond `rill`: serde comes through it.
//!
//!     cargo run --release --example custom_layer

use rill::nn::layers::{register_layer, Configurable};
use rill::nn::{serde, Variable};
use rill::prelude::*;
use std::{error::Error, path::Path};

/// y = x·w + b, as the Keras guide's `Linear`.
pub struct Linear {
    units: usize,
    w: Option<Variable>,
    b: Option<Variable>,
}

/// What `get_config` saves: the arguments, not the weights.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(crate = "rill::nn::serde")]
pub struct LinearConfig {
    units: usize,
}

impl Linear {
    /// An unbuilt layer of `units` outputs.
    pub fn new(units: usize) -> Self {
        Linear {
            units,
            w: None,
            b: None,
        }
    }
}

impl Configurable for Linear {
    const KIND: &'static str = "Linear";
    type Config = LinearConfig;
    fn get_config(&self) -> LinearConfig {
        LinearConfig { units: self.units }
    }
    fn from_config(c: LinearConfig) -> rill::nn::Result<Self> {
        Ok(Linear::new(c.units))
    }
}

impl Layer for Linear {
    rill::nn::configurable_layer!();
    fn compute_output_shape(&self, input: &[usize]) -> rill::nn::Result<Vec<usize>> {
        match input {
            [_features] => Ok(vec![self.units]),
            _ => Err(rill::nn::Error::Config(format!(
                "Linear takes [features], found {input:?}"
            ))),
        }
    }
    fn build(&mut self, input: &[usize]) -> rill::nn::Result<()> {
        let kernel = Initializer::GlorotUniform.init(&[input[0], self.units])?;
        self.w = Some(Variable::trainable("kernel", kernel)?);
        let bias = Tensor::zeros(&[self.units], DType::F32);
        self.b = Some(Variable::trainable("bias", bias)?);
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> rill::nn::Result<Tensor> {
        let (Some(w), Some(b)) = (&self.w, &self.b) else {
            return Err(rill::nn::Error::not_built("Linear"));
        };
        Ok(x.matmul(&w.value())?.add(&b.value())?)
    }
    fn variables(&self) -> Vec<Variable> {
        self.w.iter().chain(&self.b).cloned().collect()
    }
}

/// Trains on `n` images, saves, reloads; returns (test accuracy, the largest difference
/// between the trained and the reloaded model's predictions).
pub fn run(n: usize, epochs: usize, out: &Path) -> Result<(f64, f32), Box<dyn Error>> {
    set_seed(3);
    let mut model = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Rescaling::new(1.0 / 255.0, 0.0)),
        Box::new(Linear::new(64)),
        Box::new(ReLU::new()),
        Box::new(Linear::new(10)),
    ])
    .with_input_shape(&[28, 28])?;
    println!("{}", model.summary());
    model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )?;
    let data = rill::datasets::fashion_mnist::load_data()?;
    let (x, y) = (
        data.train.images.slice(0, 0, n)?,
        data.train.labels.slice(0, 0, n)?,
    );
    model.fit((x, y), FitConfig::default().epochs(epochs))?;

    std::fs::create_dir_all(out)?;
    let path = out.join("custom_layer.rill");
    model.save(&path)?;
    register_layer::<Linear>(); // once, before loading a file that holds one
    let mut loaded = rill::load_model(&path)?;
    let test = loaded.evaluate((&data.test.images, &data.test.labels), 256)?;
    let (a, b) = (
        model.predict(&data.test.images, 256)?,
        loaded.predict(&data.test.images, 256)?,
    );
    let diff = a.sub(&b)?.abs()?.max(&[], false)?.item::<f32>()?;
    println!(
        "test accuracy {:.4}, reloaded model differs by {diff}",
        test["accuracy"]
    );
    Ok((test["accuracy"], diff))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(60_000, 5, "out".as_ref()).map(|_| ())
}
