use super::Layer;
use crate::{Error, Initializer, Result, Variable};
use rill_core::{no_grad, Tensor};

/// Normalises each channel (the last axis) with the batch's mean and variance in training, and
/// with moving averages of them in inference — Keras' `BatchNormalization` (momentum 0.99,
/// epsilon 1e-3, learned scale γ and offset β).
#[derive(Debug)]
pub struct BatchNormalization {
    name: String,
    momentum: f64,
    epsilon: f64,
    gamma: Option<Variable>,
    beta: Option<Variable>,
    moving_mean: Option<Variable>,
    moving_variance: Option<Variable>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            name: String::new(),
            momentum: 0.99,
            epsilon: 1e-3,
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
        }
    }
}

impl BatchNormalization {
    /// Batch normalization with Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the moving-average momentum.
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// Sets the variance epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }
}

fn built<'a>(v: &'a Option<Variable>, name: &str) -> Result<&'a Variable> {
    v.as_ref()
        .ok_or_else(|| Error::Config(format!("{name}: call before build")))
}

impl Layer for BatchNormalization {
    fn kind(&self) -> &'static str {
        "BatchNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c = *input_shape.last().ok_or_else(|| {
            Error::Config(format!("{}: needs inputs with a channel axis", self.name))
        })?;
        self.gamma = Some(Variable::trainable("gamma", Initializer::Ones.init(&[c])?)?);
        self.beta = Some(Variable::trainable("beta", Initializer::Zeros.init(&[c])?)?);
        self.moving_mean = Some(Variable::fixed(
            "moving_mean",
            Initializer::Zeros.init(&[c])?,
        ));
        self.moving_variance = Some(Variable::fixed(
            "moving_variance",
            Initializer::Ones.init(&[c])?,
        ));
        Ok(input_shape.to_vec())
    }
    fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        let axes: Vec<isize> = (0..x.rank() as isize - 1).collect();
        let (mean, var) = if training {
            let mean = x.mean(&axes, false)?;
            let var = x.variance(&axes, false)?;
            // The moving statistics are state, not part of the gradient.
            let m = self.momentum;
            no_grad(|| -> Result<()> {
                let mm = self.moving_mean.as_mut().expect("built");
                mm.value = mm
                    .value
                    .mul_scalar(m)?
                    .add(&mean.detach().mul_scalar(1.0 - m)?)?;
                let mv = self.moving_variance.as_mut().expect("built");
                mv.value = mv
                    .value
                    .mul_scalar(m)?
                    .add(&var.detach().mul_scalar(1.0 - m)?)?;
                Ok(())
            })?;
            (mean, var)
        } else {
            (
                built(&self.moving_mean, &self.name)?.value.clone(),
                built(&self.moving_variance, &self.name)?.value.clone(),
            )
        };
        let inv = var.add_scalar(self.epsilon)?.sqrt()?;
        let normed = x.sub(&mean)?.div(&inv)?;
        Ok(normed
            .mul(&built(&self.gamma, &self.name)?.value)?
            .add(&built(&self.beta, &self.name)?.value)?)
    }
    fn variables(&self) -> Vec<&Variable> {
        [
            &self.gamma,
            &self.beta,
            &self.moving_mean,
            &self.moving_variance,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        [
            &mut self.gamma,
            &mut self.beta,
            &mut self.moving_mean,
            &mut self.moving_variance,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(
            serde_json::json!({"name": self.name, "momentum": self.momentum, "epsilon": self.epsilon}),
        )
    }
}
