use super::Layer;
use crate::{Error, Result, Variable};
use rill_core::{random::with_global, DType, Generator, Tensor};

/// Zeroes a fraction `rate` of the inputs during training and scales the rest by 1/(1 − rate);
/// the identity in inference. Its mask stream is seeded from the default generator when built
/// and kept as a state variable (as Keras 3's seed generator), so a saved and restored model
/// draws the same masks as one that never stopped.
#[derive(Debug)]
pub struct Dropout {
    name: String,
    rate: f64,
    rng: Option<Variable>,
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
        let g = Generator::new(with_global(|g| g.next_seed()));
        self.rng = Some(Variable::state(
            "seed_generator_state",
            Tensor::from_vec(g.to_bytes().to_vec(), &[48])?,
        ));
        Ok(input_shape.to_vec())
    }
    fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let state = self
            .rng
            .as_mut()
            .ok_or_else(|| Error::Config(format!("{}: call before build", self.name)))?;
        let mut rng = Generator::from_bytes(&state.value.data::<u8>()?)
            .ok_or_else(|| Error::Config(format!("{}: corrupt random-number state", self.name)))?;
        let u = rng.uniform(x.shape(), 0.0, 1.0, DType::F32)?;
        state
            .value
            .update::<u8>(|b| b.copy_from_slice(&rng.to_bytes()))?;
        let keep = u
            .ge(&Tensor::scalar(self.rate as f32))?
            .to_dtype(x.dtype())?;
        Ok(x.mul(&keep.mul_scalar(1.0 / (1.0 - self.rate))?)?)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name, "rate": self.rate}))
    }
    fn variables(&self) -> Vec<&Variable> {
        self.rng.iter().collect()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.rng.iter_mut().collect()
    }
}
