//! Rebuilding layers from their configuration (Keras' `from_config`), for model files.

use super::*;
use crate::{Activation, Error, Result};
use rill_core::Padding;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Builds a layer from its configuration.
pub type LayerFactory = fn(&Value) -> Result<Box<dyn Layer>>;

fn registry() -> &'static Mutex<HashMap<String, LayerFactory>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, LayerFactory>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers a custom layer kind so that saved models using it can be loaded.
pub fn register_layer(kind: &str, factory: LayerFactory) {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(kind.to_string(), factory);
}

pub(crate) fn padding_name(p: Padding) -> &'static str {
    match p {
        Padding::Valid => "valid",
        Padding::Same => "same",
    }
}

/// Reads a required field, with an error that names the layer kind and the field.
fn field<'a>(kind: &str, c: &'a Value, key: &str) -> Result<&'a Value> {
    c.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| Error::Config(format!("{kind} config: missing '{key}'")))
}

fn usize_of(kind: &str, c: &Value, key: &str) -> Result<usize> {
    field(kind, c, key)?
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| {
            Error::Config(format!(
                "{kind} config: '{key}' must be a non-negative integer"
            ))
        })
}

fn f64_of(kind: &str, c: &Value, key: &str) -> Result<f64> {
    field(kind, c, key)?
        .as_f64()
        .ok_or_else(|| Error::Config(format!("{kind} config: '{key}' must be a number")))
}

fn pair(kind: &str, c: &Value, key: &str) -> Result<(usize, usize)> {
    let a = field(kind, c, key)?
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| {
            Error::Config(format!("{kind} config: '{key}' must be a pair of integers"))
        })?;
    match (a[0].as_u64(), a[1].as_u64()) {
        (Some(x), Some(y)) => Ok((x as usize, y as usize)),
        _ => Err(Error::Config(format!(
            "{kind} config: '{key}' must be a pair of integers"
        ))),
    }
}

fn padding_of(kind: &str, c: &Value) -> Result<Padding> {
    match field(kind, c, "padding")?.as_str() {
        Some("valid") => Ok(Padding::Valid),
        Some("same") => Ok(Padding::Same),
        other => Err(Error::Config(format!(
            "{kind} config: padding must be \"valid\" or \"same\", found {other:?}"
        ))),
    }
}

fn activation_of(kind: &str, c: &Value) -> Result<Activation> {
    Activation::from_name(field(kind, c, "activation")?.as_str().unwrap_or(""))
}

/// Rebuilds a built-in or registered layer of `kind` from its [`Layer::config`].
pub fn from_config(kind: &str, c: &Value) -> Result<Box<dyn Layer>> {
    let mut layer: Box<dyn Layer> = match kind {
        "Dense" => {
            let mut d = Dense::new(usize_of(kind, c, "units")?)
                .activation(activation_of(kind, c)?)
                .use_bias(c["use_bias"].as_bool().unwrap_or(true));
            if let Some(r) = Regularizer::from_config(&c["kernel_regularizer"]) {
                d = d.kernel_regularizer(r);
            }
            Box::new(d)
        }
        "Conv2D" => {
            let mut l = Conv2D::new(usize_of(kind, c, "filters")?, pair(kind, c, "kernel_size")?)
                .strides(pair(kind, c, "strides")?)
                .padding(padding_of(kind, c)?)
                .dilation(pair(kind, c, "dilation_rate")?)
                .activation(activation_of(kind, c)?)
                .use_bias(c["use_bias"].as_bool().unwrap_or(true));
            if let Some(r) = Regularizer::from_config(&c["kernel_regularizer"]) {
                l = l.kernel_regularizer(r);
            }
            Box::new(l)
        }
        "Flatten" => Box::new(Flatten::new()),
        "Reshape" => {
            let t = field(kind, c, "target_shape")?.as_array().ok_or_else(|| {
                Error::Config("Reshape config: 'target_shape' must be a list".into())
            })?;
            let t: Vec<usize> = t
                .iter()
                .map(|v| v.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    Error::Config("Reshape config: 'target_shape' must hold integers".into())
                })?;
            Box::new(Reshape::new(&t))
        }
        "Rescaling" => Box::new(Rescaling::new(
            f64_of(kind, c, "scale")?,
            f64_of(kind, c, "offset")?,
        )),
        "Dropout" => Box::new(Dropout::new(f64_of(kind, c, "rate")?)),
        "Activation" => Box::new(ActivationLayer::new(activation_of(kind, c)?)),
        "ReLU" => Box::new(ReLU::new()),
        "Softmax" => Box::new(Softmax::new()),
        "MaxPooling2D" => Box::new(
            MaxPooling2D::new(pair(kind, c, "pool_size")?)
                .strides(pair(kind, c, "strides")?)
                .padding(padding_of(kind, c)?),
        ),
        "AveragePooling2D" => Box::new(
            AveragePooling2D::new(pair(kind, c, "pool_size")?)
                .strides(pair(kind, c, "strides")?)
                .padding(padding_of(kind, c)?),
        ),
        "GlobalAveragePooling2D" => Box::new(GlobalAveragePooling2D::new()),
        "BatchNormalization" => Box::new(
            BatchNormalization::new()
                .momentum(f64_of(kind, c, "momentum")?)
                .epsilon(f64_of(kind, c, "epsilon")?),
        ),
        "LayerNormalization" => {
            let mut l = LayerNormalization::new();
            l.set_epsilon(f64_of(kind, c, "epsilon")?);
            Box::new(l)
        }
        "Embedding" => Box::new(Embedding::new(
            usize_of(kind, c, "input_dim")?,
            usize_of(kind, c, "output_dim")?,
        )),
        "Functional" => Box::new(crate::Functional::from_config(c)?),
        other => {
            let factory = registry()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(other)
                .copied();
            let factory = factory.ok_or_else(|| Error::Config(format!("unknown layer type '{other}': not built in, and not registered with register_layer")))?;
            factory(c)?
        }
    };
    if let Some(name) = c.get("name").and_then(Value::as_str) {
        layer.set_name(name.to_string());
    }
    Ok(layer)
}
