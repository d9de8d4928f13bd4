use super::Layer;
use crate::{Error, Result};
use rill_core::Tensor;

/// Reshapes each sample to `target_shape` (same number of elements).
#[derive(Debug)]
pub struct Reshape {
    name: String,
    target: Vec<usize>,
}

impl Reshape {
    /// A reshape to `target_shape` per sample.
    pub fn new(target_shape: &[usize]) -> Self {
        Reshape {
            name: String::new(),
            target: target_shape.to_vec(),
        }
    }
}

impl Layer for Reshape {
    fn kind(&self) -> &'static str {
        "Reshape"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.iter().product::<usize>() != self.target.iter().product::<usize>() {
            return Err(Error::Config(format!(
                "{}: cannot reshape samples of shape {input_shape:?} into {:?}",
                self.name, self.target
            )));
        }
        Ok(self.target.clone())
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let mut shape = vec![x.shape()[0]];
        shape.extend(&self.target);
        Ok(x.reshape(&shape)?)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name, "target_shape": self.target}))
    }
}
