use crate::{Error, Result};
use rill_core::{DType, Tensor};
use rill_nn::{Model, VariableId};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

/// The model-file format version this build writes and reads.
///
/// 2: the graph architecture (every model alike), optimizer state by variable name, and one
/// SHA-256 over everything in the file. 1: a stack's architecture, positional optimizer state
/// and a SHA-256 over the weights only; still read.
pub const FORMAT_VERSION: u32 = 2;
const MODEL_FORMAT: &str = "rill-model";
const WEIGHTS_FORMAT: &str = "rill-weights";
const OPTIMIZER_PREFIX: &str = "optimizer/";

fn format_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The safetensors dtype of a weight; strings have none (a layer keeps text, such as a
/// vocabulary, in its config instead).
fn to_dtype(d: DType) -> Option<Dtype> {
    Some(match d {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::U8 => Dtype::U8,
        DType::Bool => Dtype::BOOL,
        DType::Str => return None,
    })
}

/// Little-endian bytes of a tensor, as safetensors stores them.
fn tensor_bytes(t: &Tensor) -> Result<Vec<u8>> {
    Ok(match t.dtype() {
        DType::F32 => t
            .data::<f32>()
            .map_err(rill_nn::Error::from)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::F64 => t
            .data::<f64>()
            .map_err(rill_nn::Error::from)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::I64 => t
            .data::<i64>()
            .map_err(rill_nn::Error::from)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::I32 => t
            .data::<i32>()
            .map_err(rill_nn::Error::from)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::U8 => t.data::<u8>().map_err(rill_nn::Error::from)?.to_vec(),
        DType::Bool => t
            .data::<bool>()
            .map_err(rill_nn::Error::from)?
            .iter()
            .map(|&v| v as u8)
            .collect(),
        DType::Str => {
            return Err(rill_nn::Error::Config(
                "a string tensor cannot be stored as a weight: a layer keeps text in its config"
                    .into(),
            )
            .into())
        }
    })
}

fn tensor_from(path: &Path, name: &str, view: &TensorView) -> Result<Tensor> {
    let b = view.data();
    let shape = view.shape();
    let t = match view.dtype() {
        Dtype::F32 => Tensor::from_vec(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
                .collect(),
            shape,
        ),
        Dtype::F64 => Tensor::from_vec(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8")))
                .collect(),
            shape,
        ),
        Dtype::I64 => Tensor::from_vec(
            b.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
                .collect(),
            shape,
        ),
        Dtype::I32 => Tensor::from_vec(
            b.chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4")))
                .collect(),
            shape,
        ),
        Dtype::U8 => Tensor::from_vec(b.to_vec(), shape),
        Dtype::BOOL => Tensor::from_vec(b.iter().map(|&v| v != 0).collect(), shape),
        other => {
            return Err(format_err(
                path,
                format!("weight '{name}' has dtype {other:?}, which Rill does not use"),
            ))
        }
    };
    t.map_err(|e| format_err(path, format!("weight '{name}': {e}")))
}

/// Every weight of `model` by `layer/variable` name, in layer order; names must be unique.
fn named_weights(model: &Model) -> Result<Vec<(String, Tensor)>> {
    let all = model.named_weights();
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = all.iter().find(|(n, _)| !seen.insert(n.as_str())) {
        return Err(rill_nn::Error::Config(format!(
            "save: two weights are both named '{dup}'; give the layers distinct names"
        ))
        .into());
    }
    Ok(all)
}

/// SHA-256 over the weights' names and bytes, in name order.
fn checksum<'a>(weights: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut h = Sha256::new();
    for (name, bytes) in weights {
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 over every metadata entry (in key order, the digest's own entry aside) and every
/// weight: one flipped bit anywhere in the file — architecture, class names or weights — is
/// found before the model is built.
fn file_checksum<'a>(
    meta: &'a HashMap<String, String>,
    weights: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> String {
    let sorted: BTreeMap<&String, &String> = meta.iter().filter(|(k, _)| *k != "sha256").collect();
    let entries = sorted
        .into_iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .chain(std::iter::once(("--weights--", &[][..])))
        .chain(weights);
    checksum(entries)
}

/// Removes temporaries (`prefix` + process id) that a save of the same file left when its
/// process died: only those whose process no longer runs, so a save under way elsewhere is
/// never disturbed. Where the system cannot tell (no `/proc`), nothing is removed.
fn remove_stale_temporaries(path: &Path, prefix: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced, then renamed
/// over `path`: a crash or a full disk leaves the old file whole and no temporary behind. For
/// every file format Rill writes (model files here, ONNX and Keras files beside).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"))?;
    let prefix = format!(".{}.tmp-", file_name.to_string_lossy());
    remove_stale_temporaries(path, &prefix);
    let tmp = path.with_file_name(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write(
    path: &Path,
    format: &str,
    config: Option<String>,
    class_names: Option<&[String]>,
    weights: Vec<(String, Tensor)>,
) -> Result<()> {
    let mut encoded: BTreeMap<String, (Tensor, Vec<u8>)> = BTreeMap::new();
    for (name, t) in weights {
        let bytes = tensor_bytes(&t)?;
        encoded.insert(name, (t, bytes));
    }
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), format.to_string());
    meta.insert("format_version".to_string(), FORMAT_VERSION.to_string());
    if let Some(c) = config {
        meta.insert("model_config".to_string(), c);
    }
    if let Some(names) = class_names {
        meta.insert(
            "class_names".to_string(),
            serde_json::to_string(names).map_err(|e| format_err(path, e.to_string()))?,
        );
    }
    let digest = file_checksum(
        &meta,
        encoded.iter().map(|(n, (_, b))| (n.as_str(), b.as_slice())),
    );
    meta.insert("sha256".to_string(), digest);
    let views = encoded
        .iter()
        .map(|(name, (t, bytes))| {
            Ok((
                name.clone(),
                TensorView::new(
                    to_dtype(t.dtype())
                        .ok_or_else(|| format_err(path, format!("weight '{name}' is text")))?,
                    t.shape().to_vec(),
                    bytes,
                )
                .map_err(|e| format_err(path, format!("weight '{name}': {e}")))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| format_err(path, format!("cannot encode: {e}")))?;
    if path.file_name().is_none() {
        return Err(format_err(path, "not a file path"));
    }
    write_atomically(path, &bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A parsed file: its metadata and weights, after the format, version and checksum checks.
struct Contents {
    meta: HashMap<String, String>,
    weights: BTreeMap<String, Tensor>,
}

fn read(path: &Path, expected_format: &str) -> Result<Contents> {
    // Safetensors addresses tensors with 64-bit offsets; 1 TiB is far beyond any model.
    let bytes = crate::read_bounded(path, 1 << 40).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse(path, &bytes, expected_format)
}

/// A file's bytes, checked as [`read`] checks them; `path` names it in errors.
fn parse(path: &Path, bytes: &[u8], expected_format: &str) -> Result<Contents> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        format_err(
            path,
            format!("not a Rill model file (unreadable safetensors: {e})"),
        )
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format_err(path, format!("unreadable header: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    match meta.get("format").map(String::as_str) {
        Some(f) if f == expected_format => {}
        Some(other) => {
            return Err(format_err(
                path,
                format!("expected a {expected_format} file, found a {other} file"),
            ))
        }
        None => {
            return Err(format_err(
                path,
                "a safetensors file, but not one Rill wrote (no 'format' in its metadata)",
            ))
        }
    }
    let version: u32 = meta
        .get("format_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format_err(path, "missing format_version"))?;
    if version > FORMAT_VERSION {
        return Err(format_err(path, format!("format version {version} is newer than this Rill reads ({FORMAT_VERSION}); upgrade Rill")));
    }
    // Verified before anything is decoded, straight from the file's bytes in name order.
    let views: BTreeMap<String, TensorView> = st.tensors().into_iter().collect();
    let weights = views.iter().map(|(n, v)| (n.as_str(), v.data()));
    let (key, found) = if version >= 2 {
        ("sha256", file_checksum(&meta, weights))
    } else {
        ("weights_sha256", checksum(weights))
    };
    let want = meta
        .get(key)
        .ok_or_else(|| format_err(path, format!("missing {key}")))?;
    if found != *want {
        return Err(format_err(
            path,
            "the contents do not match their SHA-256: the file is corrupt",
        ));
    }
    let weights = views
        .iter()
        .map(|(name, view)| Ok((name.clone(), tensor_from(path, name, view)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok(Contents { meta, weights })
}

fn assign_all(path: &Path, model: &Model, mut weights: BTreeMap<String, Tensor>) -> Result<()> {
    for (name, _) in named_weights(model)? {
        let t = weights
            .remove(&name)
            .ok_or_else(|| format_err(path, format!("no weight '{name}' for the model")))?;
        model
            .set_weight(&name, &t)
            .map_err(|e| format_err(path, e.to_string()))?;
    }
    if let Some(extra) = weights.keys().next() {
        return Err(format_err(
            path,
            format!("weight '{extra}' does not belong to any layer of the model"),
        ));
    }
    Ok(())
}

/// What [`save_model_with`] stores besides the architecture and weights.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Store the compile configuration and the optimizer's state, so that training resumes
    /// exactly where it stopped after [`load_model`].
    pub include_optimizer: bool,
    /// Name of each output class (for `rill predict` and `rill serve` to answer with names).
    pub class_names: Option<Vec<String>>,
}

/// Saves the architecture and every weight of a built model to one file, atomically. A
/// compiled model keeps how it was compiled — losses, metrics, the optimizer and its state —
/// as Keras' `.keras` files do, so the loaded model evaluates and resumes training at once;
/// an optimizer on a learning-rate schedule (code, which a file cannot hold) is left out.
pub fn save_model(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    let include_optimizer = model.training_config().is_ok_and(|c| c.is_some());
    save_model_with(
        model,
        path,
        &SaveOptions {
            include_optimizer,
            ..SaveOptions::default()
        },
    )
}

/// [`save_model`] with the optimizer's state and/or class names.
pub fn save_model_with(model: &Model, path: impl AsRef<Path>, options: &SaveOptions) -> Result<()> {
    let path = path.as_ref();
    let mut config = model.get_config()?;
    let mut weights = named_weights(model)?;
    if options.include_optimizer {
        let training = model.training_config()?.ok_or_else(|| {
            rill_nn::Error::Config("save: include_optimizer needs a compiled model".into())
        })?;
        config["training_config"] = training;
        weights.extend(optimizer_tensors(model)?);
    }
    let config = serde_json::to_string(&config).map_err(|e| format_err(path, e.to_string()))?;
    write(
        path,
        MODEL_FORMAT,
        Some(config),
        options.class_names.as_deref(),
        weights,
    )
}

/// [`save_model`], also recording the name of each output class.
pub fn save_model_with_classes(
    model: &Model,
    class_names: Option<&[String]>,
    path: impl AsRef<Path>,
) -> Result<()> {
    save_model_with(
        model,
        path,
        &SaveOptions {
            include_optimizer: false,
            class_names: class_names.map(<[String]>::to_vec),
        },
    )
}

/// The optimizer's state buffers as `optimizer/<slot>/<variable path>` tensors.
fn optimizer_tensors(model: &Model) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::new();
    let Some(opt) = model.optimizer() else {
        return Ok(out);
    };
    let names: HashMap<VariableId, String> = model
        .named_variables()
        .into_iter()
        .map(|(n, v)| (v.id(), n))
        .collect();
    for (slot, buffers) in opt.slots() {
        for (id, b) in buffers {
            // State of a variable no longer in the model (a layer removed) is not saved.
            let Some(name) = names.get(id) else { continue };
            out.push((
                format!("{OPTIMIZER_PREFIX}{slot}/{name}"),
                Tensor::from_vec(b.clone(), &[b.len()]).map_err(rill_nn::Error::from)?,
            ));
        }
    }
    Ok(out)
}

/// Puts saved optimizer buffers back onto the variables they belong to: by variable path, or
/// (files of format 1) by position among the trainable variables.
fn restore_optimizer(
    path: &Path,
    model: &mut Model,
    weights: &mut BTreeMap<String, Tensor>,
) -> Result<()> {
    let by_name: HashMap<String, rill_nn::Variable> = model.named_variables().into_iter().collect();
    let trainable = model.trainable_variables();
    let Some(opt) = model.optimizer_mut() else {
        return Ok(());
    };
    for (slot, buffers) in opt.slots_mut() {
        let prefix = format!("{OPTIMIZER_PREFIX}{slot}/");
        let keys: Vec<String> = weights
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let t = weights.remove(&key).expect("listed above");
            let rest = &key[prefix.len()..];
            let var = match rest.parse::<usize>() {
                Ok(i) => trainable.get(i),
                Err(_) => by_name.get(rest),
            }
            .ok_or_else(|| {
                format_err(
                    path,
                    format!("optimizer state '{key}' belongs to no variable of the model"),
                )
            })?;
            let values = t
                .to_vec::<f32>()
                .map_err(|e| format_err(path, format!("optimizer slot '{slot}': {e}")))?;
            if values.len() != var.numel() {
                return Err(format_err(
                    path,
                    format!(
                        "optimizer state '{key}' holds {} values, its variable {}",
                        values.len(),
                        var.numel()
                    ),
                ));
            }
            buffers.insert(var.id(), values);
        }
    }
    Ok(())
}

/// The class names recorded by [`save_model_with_classes`], if any.
pub fn load_class_names(path: impl AsRef<Path>) -> Result<Option<Vec<String>>> {
    let path = path.as_ref();
    class_names_in(path, &read(path, MODEL_FORMAT)?)
}

/// [`load_model`] and [`load_class_names`] from one read (and one checksum) of the file.
pub fn load_model_with_class_names(path: impl AsRef<Path>) -> Result<(Model, Option<Vec<String>>)> {
    let path = path.as_ref();
    let contents = read(path, MODEL_FORMAT)?;
    let names = class_names_in(path, &contents)?;
    Ok((build(path, contents)?, names))
}

fn class_names_in(path: &Path, contents: &Contents) -> Result<Option<Vec<String>>> {
    contents
        .meta
        .get("class_names")
        .map(|n| {
            serde_json::from_str(n).map_err(|e| {
                format_err(
                    path,
                    format!("class_names is not a JSON list of strings: {e}"),
                )
            })
        })
        .transpose()
}

/// Loads a model saved by [`save_model`]: the same architecture with the same weights, so it
/// predicts bit for bit as the saved one did.
pub fn load_model(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    build(path, read(path, MODEL_FORMAT)?)
}

/// [`load_model`] from a model file's bytes (received over a network, or embedded with
/// `include_bytes!`), checked just as a file is; errors name it `<bytes>`.
pub fn load_model_bytes(bytes: &[u8]) -> Result<Model> {
    let path = Path::new("<bytes>");
    build(path, parse(path, bytes, MODEL_FORMAT)?)
}

/// The model a file's checked contents describe, with its weights and training state.
fn build(path: &Path, contents: Contents) -> Result<Model> {
    let config = contents
        .meta
        .get("model_config")
        .ok_or_else(|| format_err(path, "missing model_config"))?;
    let config: serde_json::Value = serde_json::from_str(config)
        .map_err(|e| format_err(path, format!("model_config is not valid JSON: {e}")))?;
    // Building may allocate little more than the file stores: an architecture that asks for
    // far more is refused before anything that size is allocated.
    let stored = contents.weights.values().map(Tensor::numel).sum();
    let budget = rill_nn::initializers::file_budget(stored);
    let mut model =
        rill_nn::initializers::with_weight_budget(budget, || Model::from_config(&config))
            .map_err(|e| format_err(path, e.to_string()))?;
    let mut weights = contents.weights;
    if config["training_config"].is_object() {
        model
            .compile_from_config(&config["training_config"])
            .map_err(|e| format_err(path, e.to_string()))?;
        restore_optimizer(path, &mut model, &mut weights)?;
    }
    assign_all(path, &model, weights)?;
    Ok(model)
}

/// Saves only the weights, by layer and variable name, atomically.
pub fn save_weights(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    write(
        path.as_ref(),
        WEIGHTS_FORMAT,
        None,
        None,
        named_weights(model)?,
    )
}

/// Loads weights saved by [`save_weights`] into a model of the same architecture.
pub fn load_weights(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let contents = read(path, WEIGHTS_FORMAT)?;
    assign_all(path, model, contents.weights)
}
