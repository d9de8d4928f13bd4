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

impl Sequential {
    /// How the model was compiled — loss, metric names, optimizer with its step count — as JSON,
    /// or `None` when it is not compiled.
    pub fn training_config(&self) -> Result<Option<Value>> {
        let Some(c) = &self.compiled else {
            return Ok(None);
        };
        Ok(Some(json!({
            "loss": c.loss.config(),
            "metrics": c.metrics.iter().map(|m| m.name().to_string()).collect::<Vec<_>>(),
            "optimizer": c.optimizer.config()?,
        })))
    }

    /// Compiles the model from [`Sequential::training_config`] (optimizer state buffers start
    /// empty; restore them through [`Sequential::optimizer_mut`]).
    pub fn compile_from_config(&mut self, config: &Value) -> Result<()> {
        let loss = crate::losses::from_config(&config["loss"])?;
        let optimizer = crate::optimizers::from_config(&config["optimizer"])?;
        let names: Vec<String> = config["metrics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let kind = loss.accuracy_kind();
        let metrics = names
            .iter()
            .map(|n| crate::metrics::from_name(n, kind))
            .collect::<Result<Vec<_>>>()?;
        self.compiled = Some(super::sequential::Compiled {
            optimizer,
            loss,
            metrics,
        });
        Ok(())
    }
}
