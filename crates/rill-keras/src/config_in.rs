//! A Keras 3 model config (`config.json`) → a Rill model. Each Keras layer Rill has maps onto
//! its Rill layer; every argument that changes what the layer computes is read, and one Rill
//! cannot honour (`groups=2`, `data_format="channels_first"`, a constraint, …) is an error
//! naming the layer and the argument — never a silently different model.

use crate::archive::Assets;
use crate::error::{format, unsupported, Result};
use crate::h5::{Keys, Weights};
use rill_nn::layers::{from_config, keras_form, KerasArgs, Layer, KERAS_IGNORED};
use rill_nn::{FunctionalBuilder, Model, Node, Sequential};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// An argument Rill cannot honour, as this crate reports it.
fn refused(e: rill_nn::Error) -> crate::Error {
    match e {
        rill_nn::Error::Config(m) => unsupported(m),
        other => other.into(),
    }
}

/// Whether a layer's dtype is one Rill computes in: float32, or the integer dtype Keras gives
/// the preprocessing layers that output indices (`StringLookup`, `Hashing` in `int` mode).
fn dtype_is_float32(v: &Value) -> bool {
    let name = v.as_str().or_else(|| v["config"]["name"].as_str());
    v.is_null() || matches!(name, Some("float32" | "int64" | "int32"))
}

/// Rill's initializer for a Keras initializer, as a string (`"he_normal"`) or as Keras writes
/// one in a config (`{"class_name": "HeNormal", "config": {"seed": null}}`).
fn initializer(v: &Value) -> Option<Value> {
    let (class, cfg) = match v {
        Value::String(s) => (s.as_str(), &Value::Null),
        Value::Object(o) => (o.get("class_name")?.as_str()?, &v["config"]),
        _ => return None,
    };
    let num = |k: &str, default: f64| cfg[k].as_f64().unwrap_or(default);
    Some(match class {
        "zeros" | "Zeros" => json!("zeros"),
        "ones" | "Ones" => json!("ones"),
        "glorot_uniform" | "GlorotUniform" => json!("glorot_uniform"),
        "glorot_normal" | "GlorotNormal" => json!("glorot_normal"),
        "he_uniform" | "HeUniform" => json!("he_uniform"),
        "he_normal" | "HeNormal" => json!("he_normal"),
        "random_uniform" | "RandomUniform" => {
            json!({"random_uniform": [num("minval", -0.05), num("maxval", 0.05)]})
        }
        "random_normal" | "RandomNormal" => {
            json!({"random_normal": [num("mean", 0.0), num("stddev", 0.05)]})
        }
        "orthogonal" | "Orthogonal" => json!({"orthogonal": num("gain", 1.0)}),
        _ => return None,
    })
}

/// A new Rill layer from a Keras layer's class name and arguments, as Keras' `get_config`
/// writes them (what the Python package's `rill.keras.layers` hand over), for an input of
/// per-sample rank `rank`. Unlike a layer read from a file, whose weights come with it, a new
/// layer starts from its initializers: Dense's and Conv2D's are honoured and any other
/// is an error, never silently replaced.
pub fn new_layer(class: &str, config: &Map<String, Value>, rank: usize) -> Result<Box<dyn Layer>> {
    let name = config.get("name").and_then(Value::as_str).unwrap_or(class);
    let mut initializers = Vec::new();
    for key in [
        "kernel_initializer",
        "bias_initializer",
        "recurrent_initializer",
    ] {
        if let Some(v) = config.get(key) {
            let init = initializer(v)
                .ok_or_else(|| {
                    unsupported(format!(
                        "layer '{name}' ({class}): {key}={v} is not supported: Rill starts kernels and biases from zeros, ones, \
                         glorot_uniform, glorot_normal, he_uniform, he_normal, random_uniform, random_normal or orthogonal"
                    ))
                })?;
            initializers.push((key, init));
        }
    }
    for key in KERAS_IGNORED.iter().filter(|k| k.ends_with("_initializer")) {
        if !key.starts_with("kernel") && !key.starts_with("bias") && !key.starts_with("recurrent") {
            if let Some(v) = config.get(*key) {
                return Err(unsupported(format!(
                    "layer '{name}' ({class}): {key}={v} is not supported: this layer starts \
                     from Keras' default"
                )));
            }
        }
    }
    layer_with(class, name, config, rank, &initializers, &Assets::new())
}

/// The Rill layer for a Keras layer read from a file, given its input's per-sample rank (its
/// initializers do not matter: the file's weights replace what they make).
fn layer(
    class: &str,
    name: &str,
    config: &Map<String, Value>,
    rank: usize,
    assets: &Assets,
) -> Result<Box<dyn Layer>> {
    layer_with(class, name, config, rank, &[], assets)
}

/// The assets of the layer whose path in the file is `path` (`layers/text_vectorization`),
/// by their path below the layer's folder.
fn assets_below(assets: &Assets, path: &str) -> Assets {
    let prefix = format!("{path}/");
    // A range of the sorted map: a file of many layers and many assets stays linear.
    assets
        .range(prefix.clone()..)
        .map_while(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
        .collect()
}

/// [`layer`] whose weights start from `initializers` (Rill's config key and value).
fn layer_with(
    class: &str,
    name: &str,
    config: &Map<String, Value>,
    rank: usize,
    initializers: &[(&str, Value)],
    assets: &Assets,
) -> Result<Box<dyn Layer>> {
    let mut a = KerasArgs::new(class, name, config).with_assets(assets);
    let dtype = a.get("dtype");
    if !dtype_is_float32(dtype) {
        return Err(refused(a.bad("dtype", dtype, "Rill computes in float32")));
    }
    for key in [
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "beta_regularizer",
        "gamma_regularizer",
        "beta_constraint",
        "gamma_constraint",
        "embeddings_regularizer",
        "embeddings_constraint",
        "quantization_config",
        "lora_rank",
        "noise_shape",
    ] {
        a.expect(key, &[], "Rill has no such option")
            .map_err(refused)?;
    }
    // The layer's own file reads Keras' arguments (its `KerasForm`), found by Keras' class name.
    let form = keras_form(class).ok_or_else(|| {
        unsupported(format!(
            "layer '{name}' ({class}) has no Rill counterpart; Rill loads {}, Add, Multiply and Concatenate",
            rill_nn::layers::keras_kinds().join(", ")
        ))
    })?;
    let mut rill = (form.from_keras)(&mut a, rank).map_err(refused)?;
    for (key, init) in initializers {
        // Honoured where the layer's config has the initializer (Dense and the convolutions).
        if rill.get(*key).is_none() {
            return Err(unsupported(format!(
                "layer '{name}' ({class}): {key} is not supported: this layer has no such weight"
            )));
        }
        rill[*key] = init.clone();
    }
    a.finish().map_err(refused)?;
    let built = from_config(class, &rill)
        .map_err(|e| unsupported(format!("layer '{name}' ({class}): {e}")))?;
    Ok(built)
}

fn shape_after_batch(v: &Value, what: &str) -> Result<Vec<usize>> {
    let dims = v
        .as_array()
        .ok_or_else(|| format(format!("{what} is not a shape")))?;
    dims.iter()
        .skip(1)
        .map(|d| match d.as_u64() {
            Some(d) if d > 0 && d as usize <= rill_nn::layers::MAX_DIM => Ok(d as usize),
            _ => Err(unsupported(format!(
                "{what} {v}: Rill needs fixed sizes after the batch axis"
            ))),
        })
        .collect()
}

/// Keras' `[name, node_index, tensor_index]` (or a list of them).
fn histories(v: &Value) -> Vec<&Value> {
    match v.as_array() {
        Some(a) if a.first().is_some_and(Value::is_string) => vec![v],
        Some(a) => a.iter().collect(),
        None => vec![],
    }
}

fn history_name<'a>(h: &'a Value, what: &str) -> Result<&'a str> {
    if h[1].as_u64().unwrap_or(0) != 0 || h[2].as_u64().unwrap_or(0) != 0 {
        return Err(unsupported(format!(
            "{what} {h}: layers applied more than once (shared layers) are not supported"
        )));
    }
    h[0].as_str()
        .ok_or_else(|| format(format!("{what} {h} names no layer")))
}

/// The ops Keras 3 writes into a functional model's config for the masks it propagated.
const MASK_OPS: &[&str] = &["NotEqual", "Any"];

/// The layers whose outputs a layer was given as its `mask` argument.
fn mask_arguments(layer: &Value) -> Vec<String> {
    let nodes = layer["inbound_nodes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    nodes
        .iter()
        .filter_map(|n| n["kwargs"]["mask"]["config"]["keras_history"][0].as_str())
        .map(str::to_string)
        .collect()
}

/// The Keras tensors a layer was called on.
fn inbound(layer: &Value, name: &str) -> Result<Vec<String>> {
    let nodes = layer["inbound_nodes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if nodes.len() != 1 {
        return Err(unsupported(format!(
            "layer '{name}' is called {} times; shared layers are not supported",
            nodes.len()
        )));
    }
    // The tensors the layer was called on, however Keras passed them: one, a list (a merge,
    // `Attention`), several positional arguments (`MultiHeadAttention(q, v)`), then any
    // initial states (`LSTM(x, initial_state=[h, c])`). Other arguments (numbers) are not
    // inputs.
    let is_tensor = |v: &&Value| v["class_name"] == "__keras_tensor__";
    let args = nodes[0]["args"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut tensors: Vec<&Value> = Vec::new();
    for arg in args {
        match arg.as_array() {
            Some(list) => tensors.extend(list.iter().filter(is_tensor)),
            None if is_tensor(&arg) => tensors.push(arg),
            None => {}
        }
    }
    if let Some(states) = nodes[0]["kwargs"]["initial_state"].as_array() {
        tensors.extend(states.iter().filter(is_tensor));
    }
    tensors
        .iter()
        .map(|t| {
            history_name(
                &t["config"]["keras_history"],
                &format!("layer '{name}' input"),
            )
            .map(String::from)
        })
        .collect()
}

/// `config` with the keyword arguments the layer was called with that its Keras form keeps
/// in its config (`MultiHeadAttention`'s `use_causal_mask`).
fn with_call_arguments(
    class: &str,
    layer: &Value,
    config: &Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = config.clone();
    let Some(form) = keras_form(class) else {
        return merged;
    };
    for key in form.call_arguments {
        if let Some(v) = layer["inbound_nodes"][0]["kwargs"].get(*key) {
            merged.insert((*key).to_string(), v.clone());
        }
    }
    merged
}

fn class_and_config(l: &Value) -> Result<(&str, String, &Map<String, Value>)> {
    let class = l["class_name"]
        .as_str()
        .ok_or_else(|| format("a layer has no class_name"))?;
    let config = l["config"]
        .as_object()
        .ok_or_else(|| format(format!("a {class} layer has no config")))?;
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| l["name"].as_str())
        .unwrap_or(class)
        .to_string();
    Ok((class, name, config))
}

/// The Rill model for a Keras model config, with the file's weights.
pub(crate) fn model(config: &Value, weights: Weights, assets: &Assets) -> Result<Model> {
    let (model, order) = build(config, 0, "layers", assets)?;
    let sequential = config["class_name"] == "Sequential";
    assign_weights(&model, &order, weights, sequential)?;
    Ok(model)
}

/// How deep models may nest in a config.
const MAX_NESTING: usize = 16;

/// Whether a layer entry of a config is itself a model (a nested Sequential or Functional).
fn is_model(class: &str) -> bool {
    matches!(class, "Sequential" | "Functional" | "Model")
}

/// The model a Keras config describes, its layers frozen as the config says, and its layers'
/// (class, name) in the order Keras numbers their weight groups. `depth` counts nesting; `path`
/// is where Keras keeps the assets of this model's layers (`layers`, then
/// `layers/inner/layers` for a nested model's).
fn build(
    config: &Value,
    depth: usize,
    path: &str,
    assets: &Assets,
) -> Result<(Model, Vec<(String, String)>)> {
    if depth > MAX_NESTING {
        return Err(unsupported(format!(
            "models nested more than {MAX_NESTING} deep"
        )));
    }
    // A nested model is built like the top one; its weights are assigned with the rest.
    let make_layer = |c: &str,
                      name: &str,
                      cfg: &Map<String, Value>,
                      l: &Value,
                      rank: usize|
     -> Result<Box<dyn Layer>> {
        let own = format!("{path}/{name}");
        if is_model(c) {
            let (inner, _) = build(l, depth + 1, &format!("{own}/layers"), assets)?;
            return Ok(Box::new(inner.with_name(name)));
        }
        layer(c, name, cfg, rank, &assets_below(assets, &own))
    };
    let class = config["class_name"].as_str().unwrap_or("");
    let inner = &config["config"];
    let layers = inner["layers"]
        .as_array()
        .ok_or_else(|| format("config.json has no layers"))?;
    let model_name = inner["name"].as_str().unwrap_or("model");
    let mut order: Vec<(String, String)> = Vec::new(); // (class, layer name) in weights-key order
    let mut trainable_off = Vec::new();
    let model = match class {
        "Sequential" => {
            let mut shape = None;
            let mut rank;
            let mut model = Sequential::new(Vec::new());
            let mut current: Option<Vec<usize>> = None;
            for l in layers {
                let (c, name, cfg) = class_and_config(l)?;
                if c == "InputLayer" {
                    let s = shape_after_batch(cfg.get("batch_shape").unwrap_or(&Value::Null), &format!("input '{name}'"))?;
                    current = Some(s.clone());
                    shape = Some(s);
                    continue;
                }
                if current.is_none() {
                    let s = shape_after_batch(&inner["build_input_shape"], "build_input_shape")?;
                    current = Some(s.clone());
                    shape = Some(s);
                }
                rank = current.as_ref().map_or(0, Vec::len);
                let built = make_layer(c, &name, cfg, l, rank)?;
                current = Some(built.compute_output_shape(current.as_ref().expect("set above"))?);
                if cfg.get("trainable") == Some(&json!(false)) {
                    trainable_off.push(name.clone());
                }
                model.add_boxed(Some(&name), built)?;
                order.push((c.to_string(), name));
            }
            let shape = shape.ok_or_else(|| unsupported("a Sequential model without an input shape (Keras saved it unbuilt)"))?;
            model.with_input_shape(&shape)?.with_name(model_name)
        }
        "Functional" | "Model" if inner.get("input_layers").is_some() => {
            let mut g = FunctionalBuilder::new();
            let mut nodes: HashMap<String, (Node, Vec<usize>)> = HashMap::new();
            // Keras 3 writes the masks it propagated as ops of their own (`NotEqual` of the
            // ids an Embedding(mask_zero) reads, `Any` of a Masking's), handed to the layers
            // that honour them as a `mask` argument; Rill's layers propagate the same masks
            // themselves, so these ops are only checked to be where masks come from.
            let mut mask_ops: Vec<String> = Vec::new();
            for l in layers {
                let (c, name, cfg) = class_and_config(l)?;
                if MASK_OPS.contains(&c) {
                    mask_ops.push(name);
                    continue;
                }
                order.push((c.to_string(), name.clone()));
                if c == "InputLayer" {
                    let s = shape_after_batch(cfg.get("batch_shape").unwrap_or(&Value::Null), &format!("input '{name}'"))?;
                    let n = match cfg.get("dtype").and_then(Value::as_str) {
                        Some("string") => g.input_of(Some(&name), &s, rill_core::DType::Str)?,
                        Some("int64" | "int32") => {
                            g.input_of(Some(&name), &s, rill_core::DType::I64)?
                        }
                        _ => g.input_named(&name, &s)?,
                    };
                    nodes.insert(name, (n, s));
                    continue;
                }
                let parents = inbound(l, &name)?;
                for m in mask_arguments(l) {
                    if !mask_ops.contains(&m) {
                        return Err(unsupported(format!(
                            "layer '{name}' is given a mask computed by '{m}'; Rill's masks come from Embedding(mask_zero=True) and Masking"
                        )));
                    }
                }
                let args = parents
                    .iter()
                    .map(|p| match nodes.get(p) {
                        Some(x) => Ok(x.clone()),
                        None if mask_ops.contains(p) => Err(unsupported(format!(
                            "layer '{name}' reads the mask op '{p}' as a value; Rill's masks only flow as masks"
                        ))),
                        None => Err(format(format!("layer '{name}' reads '{p}', which comes later or not at all"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let xs: Vec<Node> = args.iter().map(|x| x.0).collect();
                let shapes: Vec<Vec<usize>> = args.iter().map(|x| x.1.clone()).collect();
                let rank = shapes.first().map_or(0, Vec::len);
                let cfg = &with_call_arguments(c, l, cfg);
                let built = make_layer(c, &name, cfg, l, rank)?;
                let shape = built.output_shape_for(&shapes)?;
                if cfg.get("trainable") == Some(&json!(false)) {
                    trainable_off.push(name.clone());
                }
                let node = match xs.as_slice() {
                    [x] => (g.layer_boxed(Some(&name), built, *x)?, shape),
                    _ => (g.merge_boxed(Some(&name), built, &xs)?, shape),
                };
                nodes.insert(name, node);
            }
            let pick = |key: &str| -> Result<Vec<Node>> {
                histories(&inner[key])
                    .into_iter()
                    .map(|h| {
                        let n = history_name(h, key)?;
                        nodes.get(n).map(|x| x.0).ok_or_else(|| format(format!("{key} names '{n}', which is not a layer")))
                    })
                    .collect()
            };
            g.build(&pick("input_layers")?, &pick("output_layers")?)?.with_name(model_name)
        }
        other => {
            return Err(unsupported(format!(
                "a model of class '{other}': Rill loads Sequential and Functional models (a subclassed Keras model has no config to rebuild it from)"
            )))
        }
    };
    for name in trainable_off {
        model.layer(&name)?.set_trainable(false);
    }
    Ok((model, order))
}

/// Where Keras keeps `layer`'s `weights` variables below its group: its Keras form's say, or
/// its own `vars` for a layer without one.
pub(crate) fn weight_groups(layer: &dyn Layer, weights: usize) -> Result<Vec<(String, usize)>> {
    match (keras_form(layer.kind()), layer.config()) {
        (Some(form), Some(config)) => Ok((form.weight_groups)(&config, weights)?),
        _ => Ok(vec![(String::new(), weights)]),
    }
}

/// Gives every layer its variables from the file, by name or by Keras' key.
pub(crate) fn assign_weights(
    model: &Model,
    order: &[(String, String)],
    mut weights: Weights,
    sequential: bool,
) -> Result<()> {
    let mut keys = Keys::default();
    for (class, name) in order {
        if sequential && class == "InputLayer" {
            continue;
        }
        let key = keys.next(class);
        if class == "InputLayer" {
            continue;
        }
        let Ok(layer) = model.layer(name) else {
            continue;
        };
        if let Some(inner) = layer.as_model() {
            // A nested model's layers have their groups under `layers/<key>/layers/`.
            let (inner_order, inner_sequential) = crate::layer_order(inner)?;
            assign_weights(
                inner,
                &inner_order,
                weights.take_nested(&key),
                inner_sequential,
            )?;
            continue;
        }
        let vars: Vec<rill_nn::Variable> = layer
            .variables()
            .into_iter()
            .filter(|v| !v.is_state())
            .collect();
        let groups = weight_groups(layer.as_ref(), vars.len())?;
        let mut stored = weights.take(name, &key).unwrap_or_default();
        let mut values = Vec::with_capacity(vars.len());
        for (path, count) in &groups {
            let found = stored.remove(path).unwrap_or_default();
            if found.len() != *count {
                let at = if path.is_empty() {
                    format!("layers/{key}/vars")
                } else {
                    format!("layers/{key}/{path}/vars")
                };
                return Err(format(format!(
                    "layer '{name}' ({class}) has {} weights in model.weights.h5 (group {at}), the layer needs {count} there",
                    found.len(),
                )));
            }
            values.extend(found);
        }
        if values.len() != vars.len() {
            return Err(format(format!(
                "layer '{name}' ({class}) has {} weights in model.weights.h5 (group layers/{key}), the layer needs {}",
                values.len(),
                vars.len()
            )));
        }
        for (v, t) in vars.iter().zip(values) {
            if v.shape() != t.shape() {
                return Err(format(format!(
                    "layer '{name}': weight '{}' is {:?} in the file, the layer needs {:?}",
                    v.name(),
                    t.shape(),
                    v.shape()
                )));
            }
            v.assign(&t)?;
        }
    }
    Ok(())
}
