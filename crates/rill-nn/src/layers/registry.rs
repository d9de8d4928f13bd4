//! The one registry of layer kinds: every built-in layer and every custom layer registered with
//! [`register_layer`] is rebuilt from its stored config here (Keras' `from_config` through its
//! object registry).

use super::*;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// Builds an unbuilt layer from its JSON config.
type Factory = fn(&Value) -> Result<Box<dyn Layer>>;

fn factory<L: Configurable>(config: &Value) -> Result<Box<dyn Layer>> {
    let typed: L::Config = serde_json::from_value(config.clone())
        .map_err(|e| Error::Config(format!("{} config: {e}", L::KIND)))?;
    Ok(Box::new(L::from_config(typed)?))
}

fn model_factory(config: &Value) -> Result<Box<dyn Layer>> {
    Ok(Box::new(crate::Model::from_config(config)?))
}

fn registry() -> &'static RwLock<HashMap<&'static str, Factory>> {
    static REGISTRY: OnceLock<RwLock<HashMap<&'static str, Factory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r: HashMap<&'static str, Factory> = HashMap::new();
        r.insert(Dense::KIND, factory::<Dense>);
        r.insert(Conv2D::KIND, factory::<Conv2D>);
        r.insert(Flatten::KIND, factory::<Flatten>);
        r.insert(Reshape::KIND, factory::<Reshape>);
        r.insert(Rescaling::KIND, factory::<Rescaling>);
        r.insert(Dropout::KIND, factory::<Dropout>);
        r.insert(ActivationLayer::KIND, factory::<ActivationLayer>);
        r.insert(ReLU::KIND, factory::<ReLU>);
        r.insert(Softmax::KIND, factory::<Softmax>);
        r.insert(MaxPooling2D::KIND, factory::<MaxPooling2D>);
        r.insert(AveragePooling2D::KIND, factory::<AveragePooling2D>);
        r.insert(
            GlobalAveragePooling2D::KIND,
            factory::<GlobalAveragePooling2D>,
        );
        r.insert(BatchNormalization::KIND, factory::<BatchNormalization>);
        r.insert(LayerNormalization::KIND, factory::<LayerNormalization>);
        r.insert(Embedding::KIND, factory::<Embedding>);
        r.insert("Functional", model_factory);
        r.insert("Sequential", model_factory);
        RwLock::new(r)
    })
}

/// Registers a custom layer kind, so that model files using it load (call once, before
/// loading). Its [`Configurable::KIND`] must not be a built-in kind's.
pub fn register_layer<L: Configurable>() {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(L::KIND, factory::<L>);
}

/// Every layer kind that [`from_config`] can rebuild, sorted.
pub fn registered_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .copied()
        .collect();
    kinds.sort_unstable();
    kinds
}

/// Rebuilds an unbuilt layer of `kind` from its [`Layer::config`].
pub fn from_config(kind: &str, config: &Value) -> Result<Box<dyn Layer>> {
    let factory = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(kind)
        .copied()
        .ok_or_else(|| {
            Error::Config(format!(
                "unknown layer type '{kind}': not built in, and not registered with register_layer"
            ))
        })?;
    factory(config)
}
