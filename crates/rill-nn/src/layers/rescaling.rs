use super::Layer;
use crate::Result;
use rill_core::{DType, Tensor};

/// `x · scale + offset`, after casting to f32 (e.g. `Rescaling::new(1.0 / 255.0, 0.0)` turns
/// raw bytes into [0, 1]).
#[derive(Debug)]
pub struct Rescaling {
    name: String,
    scale: f64,
    offset: f64,
}

impl Rescaling {
    /// A rescaling by `scale`, then shifted by `offset`.
    pub fn new(scale: f64, offset: f64) -> Self {
        Rescaling {
            name: String::new(),
            scale,
            offset,
        }
    }
}

impl Layer for Rescaling {
    fn kind(&self) -> &'static str {
        "Rescaling"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let scaled = x.to_dtype(DType::F32)?.mul_scalar(self.scale)?;
        // The common `Rescaling(1/255)` has no offset: skip a pass over the batch.
        Ok(if self.offset == 0.0 {
            scaled
        } else {
            scaled.add_scalar(self.offset)?
        })
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name, "scale": self.scale, "offset": self.offset}))
    }
}
