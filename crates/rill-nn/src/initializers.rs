//! Weight initializers, with Keras' definitions (fan-in and fan-out of a dense or convolution
//! kernel: the last dimension is fan-out, the rest multiply into fan-in).

use rill_core::{random::with_global, DType, Result, Tensor};

/// How a layer fills a new weight.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    /// All zeros (Keras' default for biases).
    #[default]
    Zeros,
    /// All ones (BatchNormalization's gamma).
    Ones,
    /// U(−l, l) with l = √(6 / (fan_in + fan_out)) — Keras' default for kernels.
    GlorotUniform,
    /// Truncated normal with σ = √(2 / (fan_in + fan_out)).
    GlorotNormal,
    /// U(−l, l) with l = √(6 / fan_in).
    HeUniform,
    /// Truncated normal with σ = √(2 / fan_in).
    HeNormal,
    /// U(lo, hi) — Keras' `RandomUniform` (Embedding's default is U(−0.05, 0.05)).
    RandomUniform(f64, f64),
    /// N(mean, std).
    RandomNormal(f64, f64),
}

/// Keras' fan-in and fan-out of a weight shape.
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        _ => {
            let receptive: usize = shape[..shape.len() - 2].iter().product();
            (
                (shape[shape.len() - 2] * receptive) as f64,
                (shape[shape.len() - 1] * receptive) as f64,
            )
        }
    }
}

impl Initializer {
    /// A new f32 weight of `shape`, drawing from the global seeded generator.
    pub fn init(&self, shape: &[usize]) -> Result<Tensor> {
        let (fan_in, fan_out) = fans(shape);
        let f = DType::F32;
        // TensorFlow's truncated normal is scaled so its standard deviation is the target σ.
        const TRUNC_STD: f64 = 0.879_625_661_034_239_8;
        with_global(|g| match *self {
            Initializer::Zeros => Ok(Tensor::zeros(shape, f)),
            Initializer::Ones => Ok(Tensor::ones(shape, f)),
            Initializer::GlorotUniform => {
                let l = (6.0 / (fan_in + fan_out)).sqrt();
                g.uniform(shape, -l, l, f)
            }
            Initializer::GlorotNormal => {
                g.truncated_normal(shape, 0.0, (2.0 / (fan_in + fan_out)).sqrt() / TRUNC_STD, f)
            }
            Initializer::HeUniform => {
                let l = (6.0 / fan_in).sqrt();
                g.uniform(shape, -l, l, f)
            }
            Initializer::HeNormal => {
                g.truncated_normal(shape, 0.0, (2.0 / fan_in).sqrt() / TRUNC_STD, f)
            }
            Initializer::RandomUniform(lo, hi) => g.uniform(shape, lo, hi, f),
            Initializer::RandomNormal(m, s) => g.normal(shape, m, s, f),
        })
    }
}
