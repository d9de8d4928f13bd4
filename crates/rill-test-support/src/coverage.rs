//! Which layer kinds a set of test models uses: the tests that run every exported layer through
//! an outside implementation (onnxruntime, Keras 3) check that every registered layer with that
//! form is among them, so a new layer cannot skip them unnoticed.

use rill_nn::{Model, NodeOp};
use std::collections::BTreeSet;

/// The layer kinds in `model`, nested models' included.
pub fn layer_kinds(model: &Model) -> BTreeSet<String> {
    let mut kinds = BTreeSet::new();
    let Ok(view) = model.graph_view() else {
        return kinds;
    };
    for node in &view.nodes {
        if let NodeOp::Layer(layer) = &node.op {
            match layer.as_model() {
                Some(inner) => kinds.extend(layer_kinds(inner)),
                None => {
                    kinds.insert(layer.kind().to_string());
                }
            }
        }
    }
    kinds
}

/// Panics naming every kind of `registered` that no model of `models` uses, and what to do.
pub fn assert_every_kind_used<'a>(
    what: &str,
    registered: &[&str],
    models: impl IntoIterator<Item = &'a Model>,
) {
    let used: BTreeSet<String> = models.into_iter().flat_map(layer_kinds).collect();
    let missing: Vec<&&str> = registered.iter().filter(|k| !used.contains(**k)).collect();
    assert!(
        missing.is_empty(),
        "{what}: no test model uses {missing:?}; add a model with each to this test"
    );
}
