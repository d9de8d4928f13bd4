//! Weight initializers, with Keras' definitions (fan-in and fan-out of a dense or convolution
//! kernel: the last dimension is fan-out, the rest multiply into fan-in).

use rill_core::{random::with_global, DType, Error, Result, Tensor};
use std::cell::Cell;

thread_local! {
    /// Weight values this thread may still create, while [`with_weight_budget`] runs.
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Restores the budget in force before [`with_weight_budget`], even when `f` panics.
struct RestoreBudget(Option<usize>);

impl Drop for RestoreBudget {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.0));
    }
}

/// Runs `f` allowing it to create at most `values` weight values on this thread (through
/// [`Initializer::init`] or [`reserve`]); one more is an error, raised before allocating.
///
/// Loaders use it with [`file_budget`] of the values their file stores: a model file's
/// architecture cannot then make building its layers allocate much more than the file could
/// fill, however large the sizes written in it (`"units": 1e12` is refused, not attempted).
pub fn with_weight_budget<R>(values: usize, f: impl FnOnce() -> R) -> R {
    let _restore = RestoreBudget(BUDGET.with(|b| b.replace(Some(values))));
    f()
}

/// The weight budget for loading a file that stores `values` weight values: twice as many and
/// a mebivalue besides, so that an architecture a little off its weights still builds and the
/// loader's exact per-weight check names the weight that differs, while one that asks for
/// far more than the file holds is refused before allocating.
pub fn file_budget(values: usize) -> usize {
    values.saturating_mul(2).saturating_add(1 << 20)
}

/// Accounts for a new weight of `shape` before it is allocated: an error when its size
/// overflows, exceeds what memory could address, or exceeds the budget of
/// [`with_weight_budget`].
pub fn reserve(shape: &[usize]) -> Result<()> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / 8)
        .ok_or_else(|| {
            Error::invalid(
                "weight",
                format!("a weight of shape {shape:?} is too large to allocate"),
            )
        })?;
    BUDGET.with(|b| match b.get() {
        Some(left) if n > left => Err(Error::invalid(
            "weight",
            format!(
                "a weight of shape {shape:?} ({n} values) is more than the file could fill ({left} values left to build): the architecture does not match the stored weights"
            ),
        )),
        Some(left) => {
            b.set(Some(left - n));
            Ok(())
        }
        None => Ok(()),
    })
}

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
    /// A (semi-)orthogonal matrix times `gain` — Keras' default for recurrent kernels: the
    /// Q of a random normal matrix's QR decomposition, signs fixed by R's diagonal.
    Orthogonal(f64),
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
        reserve(shape)?;
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
            Initializer::Orthogonal(gain) => {
                let cols = shape.last().copied().unwrap_or(1);
                let rows = shape.iter().product::<usize>() / cols.max(1);
                let normal = g.normal(&[rows.max(cols), rows.min(cols)], 0.0, 1.0, DType::F64)?;
                let q =
                    orthonormal_columns(normal.to_vec::<f64>()?, rows.max(cols), rows.min(cols));
                // Q is tall (n × m, n ≥ m); a wide weight takes its transpose, as Keras does.
                let values: Vec<f32> = (0..rows * cols)
                    .map(|i| {
                        let (r, c) = (i / cols, i % cols);
                        let v = if rows >= cols {
                            q[r * cols + c]
                        } else {
                            q[c * rows + r]
                        };
                        (v * gain) as f32
                    })
                    .collect();
                Tensor::from_vec(values, shape)
            }
        })
    }
}

/// The Q of the QR decomposition of the n × m matrix `a` (row-major, n ≥ m), with each column's
/// sign chosen so that R's diagonal is positive — what `np.linalg.qr` and then Keras' sign fix
/// give. Modified Gram–Schmidt, in f64.
fn orthonormal_columns(mut a: Vec<f64>, n: usize, m: usize) -> Vec<f64> {
    for j in 0..m {
        for k in 0..j {
            let dot: f64 = (0..n).map(|i| a[i * m + j] * a[i * m + k]).sum();
            for i in 0..n {
                a[i * m + j] -= dot * a[i * m + k];
            }
        }
        let norm = (0..n).map(|i| a[i * m + j].powi(2)).sum::<f64>().sqrt();
        // A normal matrix's columns are independent with probability one; guard the rest.
        let norm = if norm > 0.0 { norm } else { 1.0 };
        for i in 0..n {
            a[i * m + j] /= norm;
        }
    }
    a
}
