//! A Rill model → a Keras 3 model config and its weights, layer by layer, in the form
//! `keras.saving.load_model` rebuilds (each layer with its `build_config`, so Keras builds it
//! before reading its weights).

use crate::error::{unsupported, Result};
use crate::h5::{Keys, LayerWeights};
use rill_nn::layers::KerasInputs;
use rill_nn::{Model, NodeOp};
use serde_json::{json, Value};

/// The Keras release whose `.keras` format Rill writes (and tests against).
pub(crate) const KERAS_VERSION: &str = "3.15.1";

fn batch(shape: &[usize]) -> Value {
    let mut dims = vec![Value::Null];
    dims.extend(shape.iter().map(|&d| json!(d)));
    Value::Array(dims)
}

/// Keras' arguments for a Rill layer: its own file's `KerasForm`, from its typed config.
fn keras_args(name: &str, kind: &str, c: &Value) -> Result<Value> {
    let form = rill_nn::layers::keras_form(kind).ok_or_else(|| {
        unsupported(format!(
            "layer '{name}' ({kind}) has no Keras counterpart that Rill writes; the layers that save as .keras are {}, Add, Multiply and Concatenate",
            rill_nn::layers::keras_kinds().join(", ")
        ))
    })?;
    Ok((form.to_keras)(c)?)
}

fn keras_tensor(shape: &[usize], parent: &str) -> Value {
    json!({"class_name": "__keras_tensor__", "config": {"shape": batch(shape), "dtype": "float32", "keras_history": [parent, 0, 0]}})
}

/// The model's Keras config and each layer's weights under Keras' keys.
pub(crate) fn model(model: &Model) -> Result<(Value, Vec<LayerWeights>)> {
    let view = model.graph_view()?;
    let sequential = model.get_config()?["class_name"] == "Sequential"
        && view.inputs.len() == 1
        && view.outputs.len() == 1;
    let mut layers = Vec::new();
    let mut weights = Vec::new();
    let mut keys = Keys::default();
    for node in &view.nodes {
        let parents: Vec<Value> = node
            .parents
            .iter()
            .map(|&p| keras_tensor(view.nodes[p].shape, view.nodes[p].name))
            .collect();
        let (class, mut config, build) = match &node.op {
            NodeOp::Input(dtype) => {
                if !sequential {
                    keys.next("InputLayer");
                }
                let dtype = match dtype {
                    rill_core::DType::Str => "string",
                    rill_core::DType::I64 => "int64",
                    _ => "float32",
                };
                let c = json!({"batch_shape": batch(node.shape), "dtype": dtype, "sparse": false, "name": node.name});
                (String::from("InputLayer"), c, Value::Null)
            }
            NodeOp::Layer(l) if l.as_model().is_some() => {
                // A nested model is written as Keras writes one: its whole config as the
                // layer's, its layers' weights under its own group.
                let inner = l.as_model().expect("checked by the guard");
                let (mut inner_config, inner_weights) = self::model(inner)?;
                let key = keys.next(l.kind());
                weights.push(LayerWeights {
                    key: key.clone(),
                    name: node.name.to_string(),
                    groups: Vec::new(),
                    named: Vec::new(),
                });
                weights.extend(inner_weights.into_iter().map(|w| LayerWeights {
                    key: format!("{key}/layers/{}", w.key),
                    ..w
                }));
                inner_config["config"]["name"] = json!(node.name);
                inner_config["config"]["trainable"] = json!(l.is_trainable());
                let input = view.nodes[node.parents[0]].shape;
                inner_config["build_config"] = json!({"input_shape": batch(input)});
                if !sequential {
                    inner_config["name"] = json!(node.name);
                    inner_config["inbound_nodes"] = json!([{"args": [parents[0]], "kwargs": {}}]);
                }
                layers.push(inner_config);
                continue;
            }
            NodeOp::Layer(l) => {
                let config = l.config().unwrap_or(Value::Null);
                let mut c = keras_args(node.name, l.kind(), &config)?;
                c["name"] = json!(node.name);
                c["trainable"] = json!(l.is_trainable());
                // A layer whose Keras form names its dtype (an integer-output Hashing) keeps it.
                if c.get("dtype").is_none() {
                    c["dtype"] = json!("float32");
                }
                let values: Vec<_> = l
                    .variables()
                    .into_iter()
                    .filter(|v| !v.is_state())
                    .map(|v| v.value())
                    .collect();
                let mut values = values.into_iter();
                let groups = crate::config_in::weight_groups(l.as_ref(), values.len())?
                    .into_iter()
                    .map(|(path, count)| (path, values.by_ref().take(count).collect()))
                    .collect();
                let named = match (rill_nn::layers::keras_form(l.kind()), l.config()) {
                    (Some(form), Some(config)) => (form.named_values)(&config)?,
                    _ => Vec::new(),
                };
                weights.push(LayerWeights {
                    key: keys.next(l.kind()),
                    name: node.name.to_string(),
                    groups,
                    named,
                });
                let input = match node.parents {
                    [one] => batch(view.nodes[*one].shape),
                    several => json!(several
                        .iter()
                        .map(|&p| batch(view.nodes[p].shape))
                        .collect::<Vec<_>>()),
                };
                let names =
                    rill_nn::layers::keras_form(l.kind()).map_or(&[][..], |f| f.build_shapes);
                let build = match names {
                    [] => json!({ "input_shape": input }),
                    names => {
                        let shapes: serde_json::Map<String, Value> = names
                            .iter()
                            .zip(node.parents)
                            .map(|(n, &p)| (n.to_string(), batch(view.nodes[p].shape)))
                            .collect();
                        json!({ "shapes_dict": shapes })
                    }
                };
                (l.kind().to_string(), c, build)
            }
        };
        let mut layer = json!({"module": "keras.layers", "class_name": class, "config": config.take(), "registered_name": null});
        if !build.is_null() {
            layer["build_config"] = build;
        }
        if !sequential {
            layer["name"] = json!(node.name);
            // How Keras passes several inputs: as a list (merges), as positional arguments
            // (MultiHeadAttention), or the first and then `initial_state` (recurrent layers);
            // call arguments the Keras form names move from the config to the call.
            let mut kwargs = json!({});
            let form = match &node.op {
                NodeOp::Layer(l) => rill_nn::layers::keras_form(l.kind()),
                NodeOp::Input(_) => None,
            };
            if let Some(form) = &form {
                for key in form.call_arguments {
                    if let Some(v) = layer["config"].as_object_mut().and_then(|c| c.remove(*key)) {
                        kwargs[*key] = v;
                    }
                }
            }
            let inputs = form.map_or(KerasInputs::List, |f| f.inputs);
            let args = match &node.op {
                NodeOp::Input(_) => None,
                NodeOp::Layer(_) if parents.len() > 1 => Some(match inputs {
                    KerasInputs::List => json!([parents]),
                    KerasInputs::Positional => json!(parents),
                    KerasInputs::InitialState => {
                        kwargs["initial_state"] = json!(parents[1..]);
                        json!([parents[0]])
                    }
                }),
                NodeOp::Layer(_) => Some(json!([parents[0]])),
            };
            layer["inbound_nodes"] = match args {
                Some(args) => json!([{"args": args, "kwargs": kwargs}]),
                None => json!([]),
            };
        }
        layers.push(layer);
    }
    // One input or output is written bare, as Keras writes it: a model used inside another
    // then passes a tensor on, not a list of one.
    let io = |list: &[usize]| -> Value {
        let mut all: Vec<Value> = list
            .iter()
            .map(|&i| json!([view.nodes[i].name, 0, 0]))
            .collect();
        if all.len() == 1 {
            all.remove(0)
        } else {
            Value::Array(all)
        }
    };
    let first_input = view.nodes[view.inputs[0]].shape;
    let config = if sequential {
        json!({"module": "keras", "class_name": "Sequential", "config": {"name": model.name(), "trainable": true, "dtype": "float32", "layers": layers, "build_input_shape": batch(first_input)}, "registered_name": null, "build_config": {"input_shape": batch(first_input)}})
    } else {
        json!({"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": model.name(), "trainable": true, "layers": layers, "input_layers": io(view.inputs), "output_layers": io(view.outputs)}, "registered_name": null})
    };
    Ok((config, weights))
}
