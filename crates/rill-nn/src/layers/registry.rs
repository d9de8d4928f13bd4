//! The one registry of layer kinds: every built-in layer and every custom layer registered with
//! [`register_layer`] is rebuilt from its stored config here (Keras' `from_config` through its
//! object registry), and the forms a kind has in other formats are found here — its ONNX form
//! ([`OnnxForm`]), written in the layer's own file. One line a kind.

use super::*;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// Builds an unbuilt layer from its JSON config.
type Factory = fn(&Value) -> Result<Box<dyn Layer>>;

/// Writes a layer of one kind, given its JSON config, as ONNX nodes.
pub type OnnxExport = fn(&Value, OnnxLayer<'_>, &mut dyn OnnxGraph) -> Result<String>;

/// What the registry knows of a kind.
#[derive(Clone, Copy)]
struct Spec {
    factory: Factory,
    onnx: Option<OnnxExport>,
}

fn typed_config<L: Configurable>(config: &Value) -> Result<L::Config> {
    serde_json::from_value(config.clone())
        .map_err(|e| Error::Config(format!("{} config: {e}", L::KIND)))
}

fn factory<L: Configurable>(config: &Value) -> Result<Box<dyn Layer>> {
    Ok(Box::new(L::from_config(typed_config::<L>(config)?)?))
}

fn onnx_export<L: OnnxForm>(
    config: &Value,
    layer: OnnxLayer<'_>,
    graph: &mut dyn OnnxGraph,
) -> Result<String> {
    L::to_onnx(&typed_config::<L>(config)?, layer, graph)
}

/// A kind that loads from its config.
fn plain<L: Configurable>() -> Spec {
    Spec {
        factory: factory::<L>,
        onnx: None,
    }
}

/// A kind that loads from its config and exports to ONNX.
fn with_onnx<L: OnnxForm>() -> Spec {
    Spec {
        factory: factory::<L>,
        onnx: Some(onnx_export::<L>),
    }
}

fn model_factory(config: &Value) -> Result<Box<dyn Layer>> {
    Ok(Box::new(crate::Model::from_config(config)?))
}

fn registry() -> &'static RwLock<HashMap<&'static str, Spec>> {
    static REGISTRY: OnceLock<RwLock<HashMap<&'static str, Spec>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let model = Spec {
            factory: model_factory,
            onnx: None,
        };
        let r: HashMap<&'static str, Spec> = [
            (Dense::KIND, with_onnx::<Dense>()),
            (Conv2D::KIND, with_onnx::<Conv2D>()),
            (Flatten::KIND, with_onnx::<Flatten>()),
            (Reshape::KIND, with_onnx::<Reshape>()),
            (Rescaling::KIND, with_onnx::<Rescaling>()),
            (Dropout::KIND, with_onnx::<Dropout>()),
            (ActivationLayer::KIND, with_onnx::<ActivationLayer>()),
            (ReLU::KIND, with_onnx::<ReLU>()),
            (Softmax::KIND, with_onnx::<Softmax>()),
            (MaxPooling2D::KIND, with_onnx::<MaxPooling2D>()),
            (AveragePooling2D::KIND, with_onnx::<AveragePooling2D>()),
            (
                GlobalAveragePooling2D::KIND,
                with_onnx::<GlobalAveragePooling2D>(),
            ),
            (BatchNormalization::KIND, with_onnx::<BatchNormalization>()),
            (LayerNormalization::KIND, with_onnx::<LayerNormalization>()),
            (Embedding::KIND, with_onnx::<Embedding>()),
            ("Functional", model),
            ("Sequential", model),
        ]
        .into_iter()
        .collect();
        RwLock::new(r)
    })
}

fn insert(kind: &'static str, spec: Spec) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(kind, spec);
}

fn spec(kind: &str) -> Option<Spec> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(kind)
        .copied()
}

/// Registers a custom layer kind, so that model files using it load (call once, before
/// loading). Its [`Configurable::KIND`] must not be a built-in kind's.
pub fn register_layer<L: Configurable>() {
    insert(L::KIND, plain::<L>());
}

/// [`register_layer`] for a layer that also exports to ONNX ([`OnnxForm`]).
pub fn register_onnx_layer<L: OnnxForm>() {
    insert(L::KIND, with_onnx::<L>());
}

/// Every layer kind that [`from_config`] can rebuild, sorted.
pub fn registered_kinds() -> Vec<&'static str> {
    kinds_where(|_| true)
}

/// Every layer kind with an ONNX form, sorted (nested models export too, as their layers).
pub fn onnx_kinds() -> Vec<&'static str> {
    kinds_where(|s| s.onnx.is_some())
}

fn kinds_where(keep: impl Fn(&Spec) -> bool) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(_, s)| keep(s))
        .map(|(k, _)| *k)
        .collect();
    kinds.sort_unstable();
    kinds
}

/// The ONNX form of `kind`, if it has one.
pub fn onnx_form(kind: &str) -> Option<OnnxExport> {
    spec(kind)?.onnx
}

/// Rebuilds an unbuilt layer of `kind` from its [`Layer::config`].
pub fn from_config(kind: &str, config: &Value) -> Result<Box<dyn Layer>> {
    let spec = spec(kind).ok_or_else(|| {
        Error::Config(format!(
            "unknown layer type '{kind}': not built in, and not registered with register_layer"
        ))
    })?;
    (spec.factory)(config)
}
