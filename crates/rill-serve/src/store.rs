//! Which versions of a model are served: one file, or numbered version folders under a base
//! path (TF Serving's layout: `base/1/model.rill`, `base/2/model.onnx`, …) chosen by a version
//! policy and rescanned while serving. Rill model files, Keras `.keras` files and ONNX files
//! are all served.
//!
//! Loading never takes the server down: a version that fails to load — an error or a panic —
//! is logged once with its file and reason, the versions already loaded keep serving, and it is
//! tried again only when its file changes. A served version whose folder disappears is
//! unloaded and the policy falls back to the highest remaining one. Each loaded version is an
//! `Arc`: a request keeps the version it was routed to until it is answered.

use crate::{Error, Result};
use rill_nn::Model;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// Where the served model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// One model file, served as version 1.
    File(PathBuf),
    /// Numbered version folders, each holding one `.rill`, `.keras` or `.onnx` file.
    BasePath(PathBuf),
}

/// Which of the versions on disk are served (TF Serving's `model_version_policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionPolicy {
    /// The highest `n` versions that load (TF Serving's default is `Latest(1)`).
    Latest(usize),
    /// Every version on disk.
    All,
    /// Exactly these versions, as they appear.
    Specific(Vec<u64>),
}

impl Default for VersionPolicy {
    fn default() -> Self {
        VersionPolicy::Latest(1)
    }
}

/// One named input or output of the served signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The name clients use: the model's input or output name.
    pub name: String,
    /// The per-sample shape.
    pub shape: Vec<usize>,
    /// Whether the input takes raw text (a model that starts with `TextVectorization`)
    /// rather than numbers.
    pub text: bool,
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
    /// The name of each output class, when the file records them (for the demo page).
    pub class_names: Option<Vec<String>>,
}

/// What the status endpoint reports of one version (TF Serving's `ModelVersionStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionStatus {
    /// The version number.
    pub version: u64,
    /// `AVAILABLE` when served, `END` when it failed to load.
    pub state: &'static str,
    /// Why it failed to load; empty when it is served.
    pub error: String,
}

/// A file's identity for "has it changed since it failed?": its path, length and time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl Fingerprint {
    fn of(path: &Path) -> Fingerprint {
        let meta = std::fs::metadata(path).ok();
        Fingerprint {
            path: path.to_path_buf(),
            len: meta.as_ref().map_or(0, |m| m.len()),
            modified: meta.and_then(|m| m.modified().ok()),
        }
    }
}

struct Failure {
    fingerprint: Fingerprint,
    message: String,
}

/// The versions of one model being served, swappable while requests are in flight.
pub struct ModelStore {
    /// The name clients use in URLs.
    pub name: String,
    source: ModelSource,
    policy: VersionPolicy,
    labels: RwLock<BTreeMap<String, u64>>,
    loaded: RwLock<BTreeMap<u64, Arc<Servable>>>,
    failed: Mutex<BTreeMap<u64, Failure>>,
    /// The last error scanning the base path, reported once until it changes.
    scan_error: Mutex<Option<String>>,
    /// A version kept serving after its folder was removed, reported once.
    orphan: Mutex<Option<u64>>,
}

/// A model file through the one door for model files, with the class names it records, from
/// one read of it.
fn load_model_file(path: &Path) -> std::result::Result<(Model, Option<Vec<String>>), String> {
    rill_saving::load_model_with_class_names(path).map_err(|e| e.to_string())
}

/// Whether a file in a version folder is a model the server loads (a weights file is not).
fn is_model_file(path: &Path) -> bool {
    rill_saving::ModelFormat::from_path(path)
        .is_ok_and(|f| f != rill_saving::ModelFormat::KerasWeights)
}

/// The text of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into())
}

fn load_unguarded(path: &Path, version: u64) -> std::result::Result<Servable, String> {
    let (model, class_names) = load_model_file(path)?;
    let specs = |names: Vec<String>, shapes: Vec<Vec<usize>>, text: Vec<bool>| {
        names
            .into_iter()
            .zip(shapes)
            .zip(text.into_iter().chain(std::iter::repeat(false)))
            .map(|((name, shape), text)| TensorSpec { name, shape, text })
            .collect::<Vec<_>>()
    };
    let text = model
        .input_dtypes()
        .iter()
        .map(|&d| d == rill_core::DType::Str)
        .collect();
    let inputs = specs(model.input_names(), model.input_shapes(), text);
    let outputs = specs(model.output_names(), model.output_shapes(), Vec::new());
    if inputs.is_empty() {
        return Err(format!(
            "{}: the model has no input shape; save it after building it",
            path.display()
        ));
    }
    Ok(Servable {
        version,
        model,
        inputs,
        outputs,
        class_names,
    })
}

/// Loads one version; a panic anywhere in the readers is caught and becomes its error.
fn load(path: &Path, version: u64) -> std::result::Result<Servable, String> {
    std::panic::catch_unwind(|| load_unguarded(path, version)).unwrap_or_else(|p| {
        Err(format!(
            "{}: loading panicked: {}",
            path.display(),
            panic_message(p.as_ref())
        ))
    })
}

/// Every numbered version folder under `base` that holds a model file, by version.
fn versions_on_disk(base: &Path) -> std::result::Result<BTreeMap<u64, PathBuf>, String> {
    let entries = std::fs::read_dir(base).map_err(|e| format!("{}: {e}", base.display()))?;
    let mut found = BTreeMap::new();
    for e in entries.flatten() {
        let Some(v) = e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(e.path()) else {
            continue;
        };
        let mut models: Vec<PathBuf> = files
            .flatten()
            .map(|f| f.path())
            .filter(|p| is_model_file(p))
            .collect();
        // Several files in one folder: the same choice on every scan.
        models.sort();
        if let Some(m) = models.into_iter().next() {
            found.insert(v, m);
        }
    }
    Ok(found)
}

impl ModelStore {
    /// Loads the model — the newest version, for a base path — or says why it cannot.
    pub fn open(name: &str, source: ModelSource) -> Result<Self> {
        Self::with_policy(name, source, VersionPolicy::default(), BTreeMap::new())
    }

    /// Loads the versions `policy` picks, with version `labels`; an error when none loads.
    pub fn with_policy(
        name: &str,
        source: ModelSource,
        policy: VersionPolicy,
        labels: BTreeMap<String, u64>,
    ) -> Result<Self> {
        let store = ModelStore {
            name: name.to_string(),
            source,
            policy,
            labels: RwLock::new(labels),
            loaded: RwLock::new(BTreeMap::new()),
            failed: Mutex::new(BTreeMap::new()),
            scan_error: Mutex::new(None),
            orphan: Mutex::new(None),
        };
        let events = store.refresh();
        if store.loaded().is_empty() {
            let why = if events.is_empty() {
                match &store.source {
                    ModelSource::BasePath(b) => format!(
                        "{}: no numbered version folder holds a .rill, .keras or .onnx model{}",
                        b.display(),
                        match &store.policy {
                            VersionPolicy::Specific(v) => format!(" of the versions {v:?}"),
                            _ => String::new(),
                        }
                    ),
                    ModelSource::File(f) => format!("{}: not loaded", f.display()),
                }
            } else {
                events.join("; ")
            };
            return Err(Error::Model(why));
        }
        Ok(store)
    }

    /// Where the versions come from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// Which versions are served.
    pub fn policy(&self) -> &VersionPolicy {
        &self.policy
    }

    fn loaded(&self) -> BTreeMap<u64, Arc<Servable>> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The highest version being served, if any.
    pub fn latest(&self) -> Option<Arc<Servable>> {
        let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        loaded.values().next_back().cloned()
    }

    /// Version `v`, if it is being served.
    pub fn version(&self, v: u64) -> Option<Arc<Servable>> {
        let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        loaded.get(&v).cloned()
    }

    /// The version labelled `label`, if the label exists and its version is being served.
    pub fn label(&self, label: &str) -> Option<Arc<Servable>> {
        let v = *self
            .labels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(label)?;
        self.version(v)
    }

    /// Replaces the version labels (from a reloaded model config file).
    pub fn set_labels(&self, labels: BTreeMap<String, u64>) {
        *self.labels.write().unwrap_or_else(|e| e.into_inner()) = labels;
    }

    /// The versions served, in order.
    pub fn served_versions(&self) -> Vec<u64> {
        self.loaded().keys().copied().collect()
    }

    /// Every version served or failed, as TF Serving's status endpoint lists them.
    pub fn statuses(&self) -> Vec<VersionStatus> {
        let mut out: BTreeMap<u64, VersionStatus> = self
            .loaded()
            .keys()
            .map(|&version| {
                let s = VersionStatus {
                    version,
                    state: "AVAILABLE",
                    error: String::new(),
                };
                (version, s)
            })
            .collect();
        for (&version, f) in self.failed.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            out.entry(version).or_insert(VersionStatus {
                version,
                state: "END",
                error: f.message.clone(),
            });
        }
        out.into_values().rev().collect()
    }

    /// Whether `v` failed before from the very file now at `path`.
    fn failed_unchanged(&self, v: u64, path: &Path) -> bool {
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed
            .get(&v)
            .is_some_and(|f| f.fingerprint == Fingerprint::of(path))
    }

    /// The versions the policy wants served out of those on disk that have not failed.
    fn wanted(&self, on_disk: &BTreeMap<u64, PathBuf>) -> Vec<u64> {
        let usable = on_disk
            .iter()
            .rev()
            .filter(|(v, p)| !self.failed_unchanged(**v, p))
            .map(|(v, _)| *v);
        match &self.policy {
            VersionPolicy::Latest(n) => usable.take((*n).max(1)).collect(),
            VersionPolicy::All => usable.collect(),
            VersionPolicy::Specific(vs) => usable.filter(|v| vs.contains(v)).collect(),
        }
    }

    /// Brings the served versions in line with the disk and the policy: loads what is wanted
    /// and new, unloads what is gone or no longer wanted (never the last version served). A
    /// version that failed is tried again only once its file has changed. Returns what it
    /// did, one line per event, for the log.
    pub fn refresh(&self) -> Vec<String> {
        let mut events = Vec::new();
        let on_disk = match &self.source {
            ModelSource::File(p) => BTreeMap::from([(1, p.clone())]),
            ModelSource::BasePath(b) => match versions_on_disk(b) {
                Ok(v) => {
                    *self.scan_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    v
                }
                Err(e) => {
                    let mut last = self.scan_error.lock().unwrap_or_else(|e| e.into_inner());
                    if last.as_ref() != Some(&e) {
                        events.push(format!(
                            "model '{}': cannot read the base path, still serving what is loaded: {e}",
                            self.name
                        ));
                        *last = Some(e);
                    }
                    return events;
                }
            },
        };
        // A single file is loaded once; only a base path is watched.
        if matches!(self.source, ModelSource::File(_)) && !self.loaded().is_empty() {
            return events;
        }
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|v, _| on_disk.contains_key(v));
        // Each failure shrinks what is wanted, so this settles within one pass per version.
        for _ in 0..=on_disk.len() {
            let wanted = self.wanted(&on_disk);
            let missing: Vec<u64> = wanted
                .iter()
                .copied()
                .filter(|v| self.version(*v).is_none())
                .collect();
            if missing.is_empty() {
                break;
            }
            for v in missing {
                let path = &on_disk[&v];
                let fingerprint = Fingerprint::of(path);
                match load(path, v) {
                    Ok(s) => {
                        self.failed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&v);
                        self.loaded
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(v, Arc::new(s));
                        events.push(format!(
                            "model '{}': version {v} loaded from {}",
                            self.name,
                            path.display()
                        ));
                    }
                    Err(message) => {
                        events.push(format!(
                            "model '{}': version {v} failed to load (tried again when its file changes): {message}",
                            self.name
                        ));
                        self.failed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(
                                v,
                                Failure {
                                    fingerprint,
                                    message,
                                },
                            );
                    }
                }
            }
        }
        let wanted = self.wanted(&on_disk);
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<u64> = loaded
            .keys()
            .copied()
            .filter(|v| !wanted.contains(v))
            .collect();
        for v in gone {
            // Never leave the model with nothing to serve.
            if loaded.len() == 1 {
                let mut orphan = self.orphan.lock().unwrap_or_else(|e| e.into_inner());
                if !on_disk.contains_key(&v) && orphan.replace(v) != Some(v) {
                    events.push(format!(
                        "model '{}': version {v} was removed from disk and no other version loads; still serving it",
                        self.name
                    ));
                }
                break;
            }
            loaded.remove(&v);
            let why = if on_disk.contains_key(&v) {
                "no longer wanted by the version policy"
            } else {
                "its folder was removed"
            };
            let now = loaded
                .keys()
                .next_back()
                .map_or(String::new(), |l| format!("; now serving version {l}"));
            events.push(format!(
                "model '{}': version {v} unloaded, {why}{now}",
                self.name
            ));
        }
        events
    }
}
