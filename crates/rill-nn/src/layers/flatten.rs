use super::Layer;
use crate::Result;
use rill_core::Tensor;

/// Flattens each sample to one axis: `(None, 28, 28)` → `(None, 784)`. A view, no copy.
#[derive(Debug, Default)]
pub struct Flatten {
    name: String,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Flatten::default()
    }
}

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input_shape.iter().product()])
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.flatten_from(1)?)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name}))
    }
}
