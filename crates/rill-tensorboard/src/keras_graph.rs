//! A model's graph as the Keras 3 JSON that TensorBoard's graph plugin draws (its
//! "graph_keras_model" summaries): every node a layer with its class, config and inbound
//! tensors; nested models drawn inside their own box.

use serde_json::{json, Value};

/// Keras 3's reference to the output of layer `name`.
fn keras_tensor(name: &str) -> Value {
    json!({"class_name": "__keras_tensor__", "config": {"dtype": "float32", "keras_history": [name, 0, 0]}})
}

/// Converts Rill's [`rill_nn::Model::get_config`] to Keras' functional model JSON.
pub fn keras_model_json(config: &Value) -> Value {
    let nodes = config["nodes"].as_array().cloned().unwrap_or_default();
    let name_of = |i: &Value| {
        i.as_u64()
            .and_then(|i| nodes.get(i as usize))
            .and_then(|n| n["name"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let layers: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let name = n["name"].as_str().unwrap_or("");
            let parents: Vec<String> = n["parents"]
                .as_array()
                .map(|ps| ps.iter().map(name_of).collect())
                .unwrap_or_default();
            let class = match n["op"].as_str() {
                Some("input") => "InputLayer",
                _ => n["class_name"].as_str().unwrap_or("Layer"),
            };
            let inner = &n["config"];
            let mut layer_config = if inner.get("nodes").is_some() {
                // A nested model: its own layers, drawn in a box of its name.
                keras_model_json(inner)["config"].clone()
            } else {
                inner.as_object().cloned().map(Value::Object).unwrap_or(json!({}))
            };
            layer_config["name"] = json!(name);
            let args = match parents.as_slice() {
                [] => Vec::new(),
                [one] => vec![keras_tensor(one)],
                many => vec![Value::Array(many.iter().map(|p| keras_tensor(p)).collect())],
            };
            let inbound = if args.is_empty() {
                json!([])
            } else {
                json!([{"args": args, "kwargs": {}}])
            };
            json!({"class_name": class, "name": name, "config": layer_config, "inbound_nodes": inbound})
        })
        .collect();
    let ends = |key: &str| -> Vec<Value> {
        config[key]
            .as_array()
            .map(|is| is.iter().map(|i| json!([name_of(i), 0, 0])).collect())
            .unwrap_or_default()
    };
    json!({
        "class_name": "Functional",
        "config": {
            "name": config["name"],
            "layers": layers,
            "input_layers": ends("inputs"),
            "output_layers": ends("outputs"),
        },
        "backend": "rill",
    })
}
