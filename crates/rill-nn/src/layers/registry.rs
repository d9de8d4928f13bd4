//! The one registry of layer kinds: every built-in layer and every custom layer registered with
//! [`register_layer`] is rebuilt from its stored config here (Keras' `from_config` through its
//! object registry), and the forms a kind has in other formats are found here — its ONNX form
//! ([`OnnxForm`]) and its Keras form ([`KerasForm`]), written in the layer's own file. One
//! line a kind.

use super::*;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// Builds an unbuilt layer from its JSON config.
type Factory = fn(&Value) -> Result<Box<dyn Layer>>;

/// Writes a layer of one kind, given its JSON config, as ONNX nodes.
pub type OnnxExport = fn(&Value, OnnxLayer<'_>, &mut dyn OnnxGraph) -> Result<String>;

/// Reads a node as a layer of one kind: its JSON config, weights and input, or `None`.
pub type OnnxImportFn = fn(&dyn OnnxNode) -> Result<Option<OnnxImport<Value>>>;

/// A kind's ONNX form: its export, and the import pattern with the operators it answers to.
#[derive(Clone, Copy)]
struct OnnxMapping {
    export: OnnxExport,
    import: OnnxImportFn,
    ops: &'static [&'static str],
}

/// A kind's Keras form: Keras' arguments from the layer's JSON config, and the layer's JSON
/// config from Keras' arguments (for inputs of a per-sample rank).
#[derive(Clone, Copy)]
pub struct KerasMapping {
    /// Keras' arguments for a config.
    pub to_keras: fn(&Value) -> Result<Value>,
    /// A config from Keras' arguments.
    pub from_keras: fn(&mut KerasArgs<'_>, usize) -> Result<Value>,
    /// The arguments Keras' constructor takes by position, in order.
    pub positional: &'static [&'static str],
    /// Arguments Keras takes when the layer is called ([`KerasForm::KERAS_CALL_ARGUMENTS`]).
    pub call_arguments: &'static [&'static str],
    /// How Keras passes the layer several inputs.
    pub inputs: KerasInputs,
    /// The names of the inputs' shapes in Keras' `build_config`, if it names them.
    pub build_shapes: &'static [&'static str],
    /// Where Keras keeps the layer's weights below its group, and how many in each
    /// ([`KerasForm::keras_weight_groups`]), for a config and its number of weights.
    pub weight_groups: fn(&Value, usize) -> Result<WeightGroups>,
    /// Values Keras keeps by name ([`KerasForm::keras_named_values`]), for a config.
    pub named_values: fn(&Value) -> Result<NamedValues>,
}

/// What the registry knows of a kind.
#[derive(Clone, Copy)]
struct Spec {
    factory: Factory,
    examples: fn() -> Vec<LayerExample<Value>>,
    onnx: Option<OnnxMapping>,
    keras: Option<KerasMapping>,
}

fn typed_config<L: Configurable>(config: &Value) -> Result<L::Config> {
    serde_json::from_value(config.clone())
        .map_err(|e| Error::Config(format!("{} config: {e}", L::KIND)))
}

fn factory<L: Configurable>(config: &Value) -> Result<Box<dyn Layer>> {
    Ok(Box::new(L::from_config(typed_config::<L>(config)?)?))
}

fn examples<L: Configurable>() -> Vec<LayerExample<Value>> {
    L::examples()
        .into_iter()
        .filter_map(|e| e.to_json().ok())
        .collect()
}

fn onnx_export<L: OnnxForm>(
    config: &Value,
    layer: OnnxLayer<'_>,
    graph: &mut dyn OnnxGraph,
) -> Result<String> {
    L::to_onnx(&typed_config::<L>(config)?, layer, graph)
}

fn onnx_import<L: OnnxForm>(node: &dyn OnnxNode) -> Result<Option<OnnxImport<Value>>> {
    let Some(found) = L::from_onnx(node)? else {
        return Ok(None);
    };
    let config = serde_json::to_value(found.config)
        .map_err(|e| Error::Config(format!("{} config: {e}", L::KIND)))?;
    Ok(Some(OnnxImport {
        config,
        weights: found.weights,
        input: found.input,
    }))
}

fn onnx_mapping<L: OnnxForm>() -> OnnxMapping {
    OnnxMapping {
        export: onnx_export::<L>,
        import: onnx_import::<L>,
        ops: L::ONNX_OPS,
    }
}

fn to_keras<L: KerasForm>(config: &Value) -> Result<Value> {
    Ok(L::to_keras(&typed_config::<L>(config)?))
}

fn weight_groups<L: KerasForm>(config: &Value, weights: usize) -> Result<WeightGroups> {
    Ok(L::keras_weight_groups(&typed_config::<L>(config)?, weights))
}

fn named_values<L: KerasForm>(config: &Value) -> Result<NamedValues> {
    Ok(L::keras_named_values(&typed_config::<L>(config)?))
}

fn from_keras<L: KerasForm>(args: &mut KerasArgs<'_>, rank: usize) -> Result<Value> {
    serde_json::to_value(L::from_keras(args, rank)?)
        .map_err(|e| Error::Config(format!("{} config: {e}", L::KIND)))
}

/// A kind that loads from its config.
fn plain<L: Configurable>() -> Spec {
    Spec {
        factory: factory::<L>,
        examples: examples::<L>,
        onnx: None,
        keras: None,
    }
}

/// A kind that loads from its config and exports to ONNX.
fn with_onnx<L: OnnxForm>() -> Spec {
    Spec {
        onnx: Some(onnx_mapping::<L>()),
        ..plain::<L>()
    }
}

/// A kind that loads from its config and has a Keras form.
fn with_keras<L: KerasForm>() -> Spec {
    Spec {
        keras: Some(KerasMapping {
            to_keras: to_keras::<L>,
            from_keras: from_keras::<L>,
            positional: L::KERAS_POSITIONAL,
            call_arguments: L::KERAS_CALL_ARGUMENTS,
            inputs: L::KERAS_INPUTS,
            build_shapes: L::KERAS_BUILD_SHAPES,
            weight_groups: weight_groups::<L>,
            named_values: named_values::<L>,
        }),
        ..plain::<L>()
    }
}

/// A kind with every form: its config, ONNX and Keras.
fn every_form<L: OnnxForm + KerasForm>() -> Spec {
    Spec {
        onnx: Some(onnx_mapping::<L>()),
        ..with_keras::<L>()
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
            examples: Vec::new,
            onnx: None,
            keras: None,
        };
        let r: HashMap<&'static str, Spec> = [
            (Dense::KIND, every_form::<Dense>()),
            (Conv2D::KIND, every_form::<Conv2D>()),
            (Flatten::KIND, every_form::<Flatten>()),
            (Reshape::KIND, every_form::<Reshape>()),
            (Rescaling::KIND, every_form::<Rescaling>()),
            (Dropout::KIND, every_form::<Dropout>()),
            (ActivationLayer::KIND, every_form::<ActivationLayer>()),
            (ReLU::KIND, every_form::<ReLU>()),
            (Softmax::KIND, every_form::<Softmax>()),
            (MaxPooling2D::KIND, every_form::<MaxPooling2D>()),
            (AveragePooling2D::KIND, every_form::<AveragePooling2D>()),
            (
                GlobalAveragePooling2D::KIND,
                every_form::<GlobalAveragePooling2D>(),
            ),
            (BatchNormalization::KIND, every_form::<BatchNormalization>()),
            (LayerNormalization::KIND, every_form::<LayerNormalization>()),
            (Embedding::KIND, every_form::<Embedding>()),
            (Conv1D::KIND, every_form::<Conv1D>()),
            (MaxPooling1D::KIND, every_form::<MaxPooling1D>()),
            (AveragePooling1D::KIND, every_form::<AveragePooling1D>()),
            (
                GlobalAveragePooling1D::KIND,
                every_form::<GlobalAveragePooling1D>(),
            ),
            (GlobalMaxPooling1D::KIND, every_form::<GlobalMaxPooling1D>()),
            (SimpleRnn::KIND, every_form::<SimpleRnn>()),
            (Lstm::KIND, every_form::<Lstm>()),
            (Gru::KIND, every_form::<Gru>()),
            (Bidirectional::KIND, every_form::<Bidirectional>()),
            (Masking::KIND, with_keras::<Masking>()),
            (MultiHeadAttention::KIND, every_form::<MultiHeadAttention>()),
            (Attention::KIND, every_form::<Attention>()),
            (Add::KIND, every_form::<Add>()),
            (Multiply::KIND, every_form::<Multiply>()),
            (Concatenate::KIND, every_form::<Concatenate>()),
            (TextVectorization::KIND, with_keras::<TextVectorization>()),
            (StringLookup::KIND, with_keras::<StringLookup>()),
            (IntegerLookup::KIND, with_keras::<IntegerLookup>()),
            (CategoryEncoding::KIND, with_keras::<CategoryEncoding>()),
            (Hashing::KIND, with_keras::<Hashing>()),
            (Normalization::KIND, every_form::<Normalization>()),
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

/// [`register_layer`] for a layer that also has a Keras form ([`KerasForm`]).
pub fn register_keras_layer<L: KerasForm>() {
    insert(L::KIND, with_keras::<L>());
}

/// [`register_layer`] for a layer with both an ONNX and a Keras form.
pub fn register_layer_with_every_form<L: OnnxForm + KerasForm>() {
    insert(L::KIND, every_form::<L>());
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

/// Every layer kind with a Keras form, sorted (Keras' class names).
pub fn keras_kinds() -> Vec<&'static str> {
    kinds_where(|s| s.keras.is_some())
}

/// The Keras form of `kind` (Keras' class name), if it has one.
pub fn keras_form(kind: &str) -> Option<KerasMapping> {
    spec(kind)?.keras
}

/// What Keras' constructor of a kind takes, as Rill's Keras form reads it: the arguments that
/// must be given, and the defaults of the others.
#[derive(Debug, Clone, PartialEq)]
pub struct KerasSignature {
    /// The arguments without a default, in the order of [`KerasMapping::positional`] first.
    pub required: Vec<String>,
    /// Every other argument the form writes, with the value it takes when not given.
    pub defaults: serde_json::Map<String, Value>,
}

/// The signature of `kind`'s Keras form, derived from its config both ways: of the arguments
/// its first example writes ([`layer_examples`]), those whose absence `from_keras` refuses are
/// required, and the others' defaults are what `from_keras` then `to_keras` make of the
/// required ones alone. `None` for a kind without a Keras form or an example.
pub fn keras_signature(kind: &str) -> Option<KerasSignature> {
    let form = keras_form(kind)?;
    let example = layer_examples(kind).into_iter().next()?;
    let rank = example.input_shape.len();
    let Value::Object(full) = (form.to_keras)(&example.config).ok()? else {
        return None;
    };
    let reads = |args: &serde_json::Map<String, Value>| {
        (form.from_keras)(&mut KerasArgs::new(kind, kind, args), rank)
    };
    let mut required: Vec<String> = full
        .keys()
        .filter(|key| {
            let mut without = full.clone();
            without.remove(*key);
            reads(&without).is_err()
        })
        .cloned()
        .collect();
    required.sort_by_key(|k| {
        form.positional
            .iter()
            .position(|p| p == k)
            .unwrap_or(usize::MAX)
    });
    let given = full
        .iter()
        .filter(|(k, _)| required.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let Value::Object(mut defaults) = (form.to_keras)(&reads(&given).ok()?).ok()? else {
        return None;
    };
    defaults.retain(|k, _| !required.contains(k));
    Some(KerasSignature { required, defaults })
}

/// The ONNX form of `kind`, if it has one.
pub fn onnx_form(kind: &str) -> Option<OnnxExport> {
    Some(spec(kind)?.onnx?.export)
}

/// Every ONNX operator some registered layer's import pattern answers to, sorted.
pub fn onnx_import_ops() -> Vec<&'static str> {
    let mut ops: Vec<&'static str> = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter_map(|s| s.onnx)
        .flat_map(|m| m.ops.iter().copied())
        .collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

/// The import patterns that answer to ONNX operator `op`, in the order an importer tries them:
/// Keras' layers before the importer's own ONNX-shaped ones (`Onnx…`), then by name.
pub fn onnx_importers(op: &str) -> Vec<(&'static str, OnnxImportFn)> {
    let mut found: Vec<(&'static str, OnnxImportFn)> = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|(kind, s)| {
            let m = s.onnx?;
            m.ops.contains(&op).then_some((*kind, m.import))
        })
        .collect();
    found.sort_by_key(|(kind, _)| (kind.starts_with("Onnx"), *kind));
    found
}

/// The examples `kind`'s file offers ([`Configurable::examples`]), with JSON configs.
pub fn layer_examples(kind: &str) -> Vec<LayerExample<Value>> {
    spec(kind).map(|s| (s.examples)()).unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keras_signatures_name_the_required_arguments_and_keras_defaults() {
        let dense = keras_signature("Dense").unwrap();
        assert_eq!(dense.required, ["units"]);
        assert_eq!(dense.defaults["activation"], json!("linear"));
        assert_eq!(dense.defaults["use_bias"], json!(true));
        let conv = keras_signature("Conv2D").unwrap();
        assert_eq!(conv.required, ["filters", "kernel_size"]);
        assert_eq!(conv.defaults["strides"], json!([1, 1]));
        assert_eq!(conv.defaults["padding"], json!("valid"));
        let pool = keras_signature("MaxPooling2D").unwrap();
        assert!(pool.required.is_empty());
        assert_eq!(pool.defaults["pool_size"], json!([2, 2]));
        let norm = keras_signature("LayerNormalization").unwrap();
        assert!(norm.required.is_empty());
        assert_eq!(norm.defaults["epsilon"], json!(1e-3));
        let embedding = keras_signature("Embedding").unwrap();
        assert_eq!(embedding.required, ["input_dim", "output_dim"]);
        assert_eq!(keras_signature("Dropout").unwrap().required, ["rate"]);
    }
}
