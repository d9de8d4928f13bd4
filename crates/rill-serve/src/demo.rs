//! `GET /`: a small self-contained page to try the served models — draw with the mouse or drop
//! an image and see the top classes as bars, named by the class names the model file records.
//! It talks to the server only through TF Serving's REST API.

use crate::models::ModelSet;
use serde_json::json;

const PAGE: &str = include_str!("demo.html");

/// The page, with every model's name, served version, input shape and class names inlined.
pub(crate) fn page(models: &ModelSet) -> String {
    let list: Vec<_> = models
        .all()
        .iter()
        .filter_map(|store| {
            let s = store.latest()?;
            Some(json!({
                "name": store.name,
                "version": s.version,
                "shape": s.inputs.first().map(|i| i.shape.clone()).unwrap_or_default(),
                "classes": s.class_names,
            }))
        })
        .collect();
    // Inlined in a <script>: no "</script>" or "<!--" can come from a model's names.
    let data = serde_json::Value::from(list)
        .to_string()
        .replace('<', "\\u003c");
    PAGE.replace("/*MODELS*/", &data)
}
