//! Which model is served: one file, or the newest numbered version folder under a base path
//! (TF Serving's layout: `base/1/model.rill`, `base/2/model.onnx`, …), reloaded when a newer
//! version appears. Rill model files, Keras `.keras` files and ONNX files are all served.

use crate::{Error, Result};
use rill_nn::Model;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Where the served model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// One model file, served as version 1.
    File(PathBuf),
    /// Numbered version folders, each holding one `.rill`, `.keras` or `.onnx` file; the highest
    /// is served.
    BasePath(PathBuf),
}

/// One named input or output of the served signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The name clients use: the model's input or output name.
    pub name: String,
    /// The per-sample shape.
    pub shape: Vec<usize>,
}

/// One loaded version of the model.
pub struct Servable {
    /// The version number.
    pub version: u64,
    /// The model: layers run through `&self`, so every inference thread calls it at once,
    /// with no lock.
    pub model: Model,
    /// The model's inputs, in order: the names requests use.
    pub inputs: Vec<TensorSpec>,
    /// The model's outputs, in order: the names answers use.
    pub outputs: Vec<TensorSpec>,
}

/// The model being served, swappable while requests are in flight.
pub struct ModelStore {
    /// The name clients use in URLs.
    pub name: String,
    source: ModelSource,
    current: RwLock<Arc<Servable>>,
}

/// A `.onnx` file through the ONNX importer, a `.keras` file through the Keras reader, anything
/// else as a Rill model file (whose layers may include the ONNX importer's).
fn load_model_file(path: &Path) -> std::result::Result<Model, String> {
    let is = |ext: &str| {
        path.extension()
            .is_some_and(|x| x.eq_ignore_ascii_case(ext))
    };
    if is("onnx") {
        return rill_onnx::load(path).map_err(|e| e.to_string());
    }
    if is("keras") {
        return rill_keras::load_model(path).map_err(|e| e.to_string());
    }
    rill_onnx::register_layers();
    rill_io::load_model(path).map_err(|e| e.to_string())
}

fn load(path: &Path, version: u64) -> Result<Servable> {
    let model = load_model_file(path).map_err(Error::Model)?;
    let specs = |names: Vec<String>, shapes: Vec<Vec<usize>>| {
        names
            .into_iter()
            .zip(shapes)
            .map(|(name, shape)| TensorSpec { name, shape })
            .collect::<Vec<_>>()
    };
    let inputs = specs(model.input_names(), model.input_shapes());
    let outputs = specs(model.output_names(), model.output_shapes());
    if inputs.is_empty() {
        return Err(Error::Model(format!(
            "{}: the model has no input shape; save it after building it",
            path.display()
        )));
    }
    Ok(Servable {
        version,
        model,
        inputs,
        outputs,
    })
}

/// The highest `(version, model file)` under `base`, if any.
fn newest_version(base: &Path) -> Result<Option<(u64, PathBuf)>> {
    let entries =
        std::fs::read_dir(base).map_err(|e| Error::Model(format!("{}: {e}", base.display())))?;
    let mut best: Option<(u64, PathBuf)> = None;
    for e in entries.flatten() {
        let Some(v) = e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(e.path()) else {
            continue;
        };
        let model = files.flatten().map(|f| f.path()).find(|p| {
            p.extension()
                .is_some_and(|x| x == "rill" || x == "onnx" || x == "keras")
        });
        if let Some(m) = model {
            if best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, m));
            }
        }
    }
    Ok(best)
}

impl ModelStore {
    /// Loads the model (the newest version, for a base path).
    pub fn open(name: &str, source: ModelSource) -> Result<Self> {
        let servable = match &source {
            ModelSource::File(p) => load(p, 1)?,
            ModelSource::BasePath(b) => {
                let (v, p) = newest_version(b)?.ok_or_else(|| {
                    Error::Model(format!(
                        "{}: no numbered version folder holds a .rill, .keras or .onnx model",
                        b.display()
                    ))
                })?;
                load(&p, v)?
            }
        };
        Ok(ModelStore {
            name: name.to_string(),
            source,
            current: RwLock::new(Arc::new(servable)),
        })
    }

    /// The version being served.
    pub fn current(&self) -> Arc<Servable> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads a newer version if the base path has one; returns the version now served. A
    /// version that fails to load is skipped (the old one keeps serving) and reported.
    pub fn refresh(&self) -> Result<u64> {
        let ModelSource::BasePath(base) = &self.source else {
            return Ok(self.current().version);
        };
        let current = self.current().version;
        match newest_version(base)? {
            Some((v, path)) if v > current => {
                let servable = Arc::new(load(&path, v)?);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = servable;
                Ok(v)
            }
            _ => Ok(current),
        }
    }
}
