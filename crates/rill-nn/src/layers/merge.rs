use crate::{Error, Result};
use rill_core::Tensor;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// A layer that combines several inputs into one (`Add`, `Concatenate`, `Multiply`), for
/// graphs built with [`FunctionalBuilder`](crate::FunctionalBuilder).
pub trait Merge: Send + Sync {
    /// The Keras class name.
    fn kind(&self) -> &'static str;
    /// The output's per-sample shape for inputs of `shapes`, or why they cannot be merged.
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>>;
    /// Combines a batch of each input.
    fn call(&self, inputs: &[Tensor]) -> Result<Tensor>;
    /// The arguments that rebuild this merge (stored in model files beside its kind), for
    /// merges that have some; see [`register_merge`].
    fn config(&self) -> serde_json::Value {
        serde_json::Value::Object(Default::default())
    }
}

fn same_shapes(kind: &str, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
    match shapes.first() {
        Some(first) if shapes.len() >= 2 && shapes.iter().all(|s| s == first) => Ok(first.clone()),
        _ => Err(Error::Config(format!(
            "{kind}: needs at least two inputs of one shape, found {}",
            shapes
                .iter()
                .map(|s| crate::batch_shape(s))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The elementwise sum of its inputs (e.g. a residual connection).
#[derive(Debug, Default, Clone, Copy)]
pub struct Add;

impl Merge for Add {
    fn kind(&self) -> &'static str {
        "Add"
    }
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        same_shapes("Add", shapes)
    }
    fn call(&self, inputs: &[Tensor]) -> Result<Tensor> {
        let mut acc = inputs[0].clone();
        for t in &inputs[1..] {
            acc = acc.add(t)?;
        }
        Ok(acc)
    }
}

/// The elementwise product of its inputs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Multiply;

impl Merge for Multiply {
    fn kind(&self) -> &'static str {
        "Multiply"
    }
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        same_shapes("Multiply", shapes)
    }
    fn call(&self, inputs: &[Tensor]) -> Result<Tensor> {
        let mut acc = inputs[0].clone();
        for t in &inputs[1..] {
            acc = acc.mul(t)?;
        }
        Ok(acc)
    }
}

/// Joins its inputs along the last per-sample axis (Keras' default `axis=-1`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Concatenate;

impl Merge for Concatenate {
    fn kind(&self) -> &'static str {
        "Concatenate"
    }
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let first = shapes
            .first()
            .filter(|f| !f.is_empty() && shapes.len() >= 2)
            .ok_or_else(|| {
                Error::Config("Concatenate: needs at least two inputs with a feature axis".into())
            })?;
        let r = first.len();
        if shapes
            .iter()
            .any(|s| s.len() != r || s[..r - 1] != first[..r - 1])
        {
            return Err(Error::Config(format!(
                "Concatenate: inputs must agree on all but the last axis, found {}",
                shapes
                    .iter()
                    .map(|s| crate::batch_shape(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut out = first.clone();
        out[r - 1] = shapes.iter().map(|s| s[r - 1]).sum();
        Ok(out)
    }
    fn call(&self, inputs: &[Tensor]) -> Result<Tensor> {
        Ok(Tensor::concat(inputs, -1)?)
    }
}

/// The merge layer called `kind` (`Add`, `Multiply`, `Concatenate`), for model configs.
/// Builds a merge from its stored config.
pub type MergeFactory = fn(&serde_json::Value) -> Result<Box<dyn Merge>>;

fn merge_registry() -> &'static RwLock<HashMap<&'static str, MergeFactory>> {
    static REGISTRY: OnceLock<RwLock<HashMap<&'static str, MergeFactory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Registers a merge kind defined outside this crate (e.g. the ONNX importer's broadcasting
/// arithmetic), so model files using it load. Built-in kinds cannot be replaced.
pub fn register_merge(kind: &'static str, factory: MergeFactory) {
    merge_registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(kind, factory);
}

/// A built-in merge by its Keras name.
pub fn merge_from_kind(kind: &str) -> Result<Box<dyn Merge>> {
    merge_from_config(kind, &serde_json::Value::Null)
}

/// A merge from its kind and stored [`Merge::config`]: built-in or registered.
pub fn merge_from_config(kind: &str, config: &serde_json::Value) -> Result<Box<dyn Merge>> {
    Ok(match kind {
        "Add" => Box::new(Add),
        "Multiply" => Box::new(Multiply),
        "Concatenate" => Box::new(Concatenate),
        other => {
            let factory = merge_registry()
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(other)
                .copied()
                .ok_or_else(|| Error::Config(format!("unknown merge layer '{other}'")))?;
            return factory(config);
        }
    })
}
