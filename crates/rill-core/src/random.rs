//! Seeded random tensors. One call to [`set_seed`] makes a whole run reproducible: every
//! initializer, dropout mask and shuffle that does not take its own [`Generator`] draws from the
//! default one.
//!
//! The default generator is per thread (each thread starts at seed 0): a model built on one
//! thread gets the same weights whatever other threads draw at the same time, so runs — and
//! tests running in parallel — stay reproducible.

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A seeded random generator (ChaCha8: the same stream on every platform and version).
#[derive(Debug, Clone)]
pub struct Generator {
    rng: ChaCha8Rng,
}

thread_local! {
    static DEFAULT: std::cell::RefCell<Generator> = std::cell::RefCell::new(Generator::new(0));
}

/// Reseeds this thread's default generator.
pub fn set_seed(seed: u64) {
    DEFAULT.with(|g| *g.borrow_mut() = Generator::new(seed));
}

/// Runs `f` with this thread's default generator.
pub fn with_global<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    DEFAULT.with(|g| f(&mut g.borrow_mut()))
}

fn float_only(op: &'static str, dtype: DType) -> Result<()> {
    if dtype.is_float() {
        Ok(())
    } else {
        Err(Error::dtype(
            op,
            format!("random values are drawn as floats (f32 or f64), found {dtype}"),
        ))
    }
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
    /// A generator determined by `(seed, stream, index)` alone, as tf.random's stateless ops
    /// are: the same triple gives the same draws in any order and on any thread. A dataset
    /// gives each element one from (its seed, the epoch, the element's index), so parallel
    /// augmentation is reproducible and still differs from epoch to epoch.
    pub fn stateless(seed: u64, stream: u64, index: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&stream.to_le_bytes());
        key[16..24].copy_from_slice(&index.to_le_bytes());
        // A fixed tag keeps these keys apart from `Generator::new`'s.
        key[24..].copy_from_slice(b"rill:sl1");
        Generator {
            rng: ChaCha8Rng::from_seed(key),
        }
    }
    /// The generator's whole state (key and stream position) as 48 bytes, so that a saved and
    /// restored generator continues exactly where it stopped.
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[..32].copy_from_slice(&self.rng.get_seed());
        b[32..].copy_from_slice(&self.rng.get_word_pos().to_le_bytes());
        b
    }
    /// A generator from [`Generator::to_bytes`]; `None` unless given exactly 48 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Generator> {
        let seed: [u8; 32] = b.get(..32)?.try_into().ok()?;
        let pos = u128::from_le_bytes(b.get(32..48)?.try_into().ok()?);
        if b.len() != 48 {
            return None;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_word_pos(pos);
        Some(Generator { rng })
    }
    /// A new seed drawn from this generator (to give a component its own stream).
    pub fn next_seed(&mut self) -> u64 {
        self.rng.gen()
    }
    /// A uniform integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n.max(1))
    }
    /// A uniform float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.rng.gen()
    }
    /// Shuffles a slice in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        use rand::seq::SliceRandom;
        items.shuffle(&mut self.rng);
    }
    fn fill(
        &mut self,
        shape: &[usize],
        dtype: DType,
        mut draw: impl FnMut(&mut ChaCha8Rng) -> f64,
    ) -> Tensor {
        let n = shape.iter().product();
        crate::dispatch_any!(dtype, T => {
            let v: Vec<T> = (0..n).map(|_| T::from_f64(draw(&mut self.rng))).collect();
            Tensor::from_vec(v, shape).expect("length matches shape")
        }, string => Tensor::full(shape, 0.0, DType::Str))
    }
    /// Uniform values in [lo, hi).
    pub fn uniform(&mut self, shape: &[usize], lo: f64, hi: f64, dtype: DType) -> Result<Tensor> {
        float_only("uniform", dtype)?;
        Ok(self.fill(shape, dtype, |r| lo + (hi - lo) * r.gen::<f64>()))
    }
    /// Normal values with `mean` and standard deviation `std`.
    pub fn normal(&mut self, shape: &[usize], mean: f64, std: f64, dtype: DType) -> Result<Tensor> {
        float_only("normal", dtype)?;
        Ok(self.fill(shape, dtype, |r| {
            mean + std * Distribution::<f64>::sample(&StandardNormal, r)
        }))
    }
    /// Normal values redrawn until within two standard deviations (TensorFlow's truncated normal).
    pub fn truncated_normal(
        &mut self,
        shape: &[usize],
        mean: f64,
        std: f64,
        dtype: DType,
    ) -> Result<Tensor> {
        float_only("truncated_normal", dtype)?;
        Ok(self.fill(shape, dtype, |r| loop {
            let z: f64 = StandardNormal.sample(r);
            if z.abs() <= 2.0 {
                break mean + std * z;
            }
        }))
    }
}

impl Tensor {
    /// Uniform values in [lo, hi) from the global generator.
    pub fn rand_uniform(shape: &[usize], lo: f64, hi: f64, dtype: DType) -> Result<Tensor> {
        with_global(|g| g.uniform(shape, lo, hi, dtype))
    }
    /// Normal values from the global generator.
    pub fn randn(shape: &[usize], mean: f64, std: f64, dtype: DType) -> Result<Tensor> {
        with_global(|g| g.normal(shape, mean, std, dtype))
    }
    /// Truncated normal values (within two standard deviations) from the global generator.
    pub fn truncated_normal(shape: &[usize], mean: f64, std: f64, dtype: DType) -> Result<Tensor> {
        with_global(|g| g.truncated_normal(shape, mean, std, dtype))
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Tensor>();
    let _ = <f32 as Element>::DTYPE;
}
