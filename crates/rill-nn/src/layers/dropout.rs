use super::Layer;
use crate::{Error, Result};
use rill_core::{random::with_global, DType, Generator, Tensor};

/// Zeroes a fraction `rate` of the inputs during training and scales the rest by 1/(1 − rate);
/// the identity in inference. Its mask stream is seeded from the global seed when built.
#[derive(Debug)]
pub struct Dropout {
    name: String,
    rate: f64,
    rng: Option<Generator>,
}

impl Dropout {
    /// Dropout of `rate` (0 ≤ rate < 1).
    pub fn new(rate: f64) -> Self {
        Dropout {
            name: String::new(),
            rate,
            rng: None,
        }
    }
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::Config(format!(
                "{}: the dropout rate must be in [0, 1), found {}",
                self.name, self.rate
            )));
        }
        self.rng = Some(Generator::new(with_global(|g| g.next_seed())));
        Ok(input_shape.to_vec())
    }
    fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let rng = self
            .rng
            .as_mut()
            .ok_or_else(|| Error::Config(format!("{}: call before build", self.name)))?;
        let u = rng.uniform(x.shape(), 0.0, 1.0, DType::F32)?;
        let keep = u
            .ge(&Tensor::scalar(self.rate as f32))?
            .to_dtype(x.dtype())?;
        Ok(x.mul(&keep.mul_scalar(1.0 / (1.0 - self.rate))?)?)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name, "rate": self.rate}))
    }
}
