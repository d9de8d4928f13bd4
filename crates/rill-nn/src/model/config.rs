use super::Sequential;
use crate::layers::from_config;
use crate::{Error, Result};
use serde_json::{json, Value};

impl Sequential {
    /// The architecture as JSON (Keras' `get_config`): name, input shape, and each layer's kind
    /// and configuration. Weights are not included.
    pub fn get_config(&self) -> Result<Value> {
        let input = self.input_shape.clone().ok_or_else(|| {
            Error::Config("get_config: build the model first (its input shape is unknown)".into())
        })?;
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let cfg = l.config().ok_or_else(|| {
                    Error::Config(format!(
                        "layer '{}' ({}) cannot be saved: it does not implement Layer::config",
                        l.name(),
                        l.kind()
                    ))
                })?;
                Ok(json!({"class_name": l.kind(), "config": cfg}))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({"name": self.name, "input_shape": input, "layers": layers}))
    }

    /// Rebuilds a model (built, with fresh weights) from [`Sequential::get_config`].
    pub fn from_config(config: &Value) -> Result<Sequential> {
        let bad = |what: &str| Error::Config(format!("model config: {what}"));
        let shape: Vec<usize> = config["input_shape"]
            .as_array()
            .ok_or_else(|| bad("missing 'input_shape'"))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("'input_shape' must hold integers"))?;
        let layers = config["layers"]
            .as_array()
            .ok_or_else(|| bad("missing 'layers'"))?;
        let layers = layers
            .iter()
            .map(|l| {
                let kind = l["class_name"]
                    .as_str()
                    .ok_or_else(|| bad("a layer has no 'class_name'"))?;
                from_config(kind, &l["config"])
            })
            .collect::<Result<Vec<_>>>()?;
        let mut model = Sequential::new(layers);
        if let Some(name) = config["name"].as_str() {
            model.name = name.to_string();
        }
        model.with_input_shape(&shape)
    }
}
