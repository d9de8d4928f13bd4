use super::Layer;
use crate::{Error, Initializer, Result, Variable};
use rill_core::Tensor;

/// Normalises each sample over its last axis, then scales by γ and shifts by β — Keras'
/// `LayerNormalization` (epsilon 1e-3). Identical in training and inference.
#[derive(Debug)]
pub struct LayerNormalization {
    name: String,
    epsilon: f64,
    gamma: Option<Variable>,
    beta: Option<Variable>,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        LayerNormalization {
            name: String::new(),
            epsilon: 1e-3,
            gamma: None,
            beta: None,
        }
    }
}

impl LayerNormalization {
    /// Layer normalization with Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the variance epsilon.
    pub fn set_epsilon(&mut self, e: f64) {
        self.epsilon = e;
    }
}

impl Layer for LayerNormalization {
    fn kind(&self) -> &'static str {
        "LayerNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c = *input_shape.last().ok_or_else(|| {
            Error::Config(format!("{}: needs inputs with a feature axis", self.name))
        })?;
        self.gamma = Some(Variable::trainable("gamma", Initializer::Ones.init(&[c])?)?);
        self.beta = Some(Variable::trainable("beta", Initializer::Zeros.init(&[c])?)?);
        Ok(input_shape.to_vec())
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let (g, b) = match (&self.gamma, &self.beta) {
            (Some(g), Some(b)) => (g, b),
            _ => return Err(Error::Config(format!("{}: call before build", self.name))),
        };
        let mean = x.mean(&[-1], true)?;
        let var = x.variance(&[-1], true)?;
        let normed = x.sub(&mean)?.div(&var.add_scalar(self.epsilon)?.sqrt()?)?;
        Ok(normed.mul(&g.value)?.add(&b.value)?)
    }
    fn variables(&self) -> Vec<&Variable> {
        self.gamma.iter().chain(self.beta.iter()).collect()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).collect()
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name, "epsilon": self.epsilon}))
    }
}
