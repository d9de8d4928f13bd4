//! The set of models a server answers for, by name: one for `rill serve MODEL`, or those a
//! model config file lists — reread when it changes, so models can be added, removed or
//! relabelled without a restart.

use crate::config_file::{self, ModelEntry};
use crate::store::{ModelSource, ModelStore};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// The config file a set was made from, and the text last applied.
struct Watched {
    path: PathBuf,
    applied: Mutex<String>,
    /// The last error reading it, reported once until it changes.
    error: Mutex<Option<String>>,
}

/// The models being served, by the name clients use; replaceable while serving.
#[derive(Default)]
pub struct ModelSet {
    stores: RwLock<BTreeMap<String, Arc<ModelStore>>>,
    config_file: Option<Watched>,
}

fn read_config(path: &Path) -> std::result::Result<(String, Vec<ModelEntry>), String> {
    let bytes =
        rill_io::read_bounded(path, 1 << 20).map_err(|e| format!("{}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    let entries = config_file::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((text, entries))
}

fn open(entry: &ModelEntry) -> Result<ModelStore> {
    ModelStore::with_policy(
        &entry.name,
        ModelSource::BasePath(entry.base_path.clone()),
        entry.policy.clone(),
        entry.labels.clone(),
    )
}

impl ModelSet {
    /// A set of one model.
    pub fn single(store: Arc<ModelStore>) -> ModelSet {
        ModelSet::from_stores(vec![store])
    }

    /// A set of the given models (later ones replace earlier ones of the same name).
    pub fn from_stores(stores: Vec<Arc<ModelStore>>) -> ModelSet {
        let set = ModelSet::default();
        set.replace(stores);
        set
    }

    /// The models a TF Serving model config file lists, each loaded by its version policy;
    /// an error naming the model when one cannot be served. [`ModelSet::refresh`] rereads
    /// the file.
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<ModelSet> {
        let path = path.as_ref();
        let (text, entries) = read_config(path).map_err(Error::Model)?;
        if entries.is_empty() {
            return Err(Error::Model(format!("{}: lists no model", path.display())));
        }
        let stores = entries
            .iter()
            .map(|e| open(e).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let mut set = ModelSet::from_stores(stores);
        set.config_file = Some(Watched {
            path: path.to_path_buf(),
            applied: Mutex::new(text),
            error: Mutex::new(None),
        });
        Ok(set)
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<ModelStore>> {
        self.stores
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every model, by name.
    pub fn all(&self) -> Vec<Arc<ModelStore>> {
        self.stores
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Serves exactly `stores` from now on; requests already routed finish on what they have.
    pub fn replace(&self, stores: Vec<Arc<ModelStore>>) {
        let map = stores.into_iter().map(|s| (s.name.clone(), s)).collect();
        *self.stores.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// Rereads the config file if it changed, then rescans every model's versions; one log
    /// line per event.
    pub fn refresh(&self) -> Vec<String> {
        let mut events = self.reread_config();
        events.extend(self.all().iter().flat_map(|s| s.refresh()));
        events
    }

    /// Applies a changed config file: new models are opened, removed ones dropped, a model
    /// whose base path or policy changed is reopened, labels are updated in place. A file that
    /// does not parse, or a model that cannot be opened, is reported and the models already
    /// served stay as they were.
    fn reread_config(&self) -> Vec<String> {
        let Some(w) = &self.config_file else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let (text, entries) = match read_config(&w.path) {
            Ok(r) => r,
            Err(e) => {
                let mut last = w.error.lock().unwrap_or_else(|e| e.into_inner());
                if last.as_ref() != Some(&e) {
                    events.push(format!("the model config file is not applied, still serving the models before it: {e}"));
                    *last = Some(e);
                }
                return events;
            }
        };
        let mut applied = w.applied.lock().unwrap_or_else(|e| e.into_inner());
        if *applied == text {
            return events;
        }
        *w.error.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let current: BTreeMap<String, Arc<ModelStore>> = self
            .stores
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut next = Vec::new();
        for entry in &entries {
            let same = current.get(&entry.name).filter(|s| {
                matches!(s.source(), ModelSource::BasePath(b) if *b == entry.base_path)
                    && *s.policy() == entry.policy
            });
            if let Some(store) = same {
                store.set_labels(entry.labels.clone());
                next.push(store.clone());
                continue;
            }
            match open(entry) {
                Ok(store) => {
                    events.push(format!(
                        "model '{}' now served from {}",
                        entry.name,
                        entry.base_path.display()
                    ));
                    next.push(Arc::new(store));
                }
                Err(e) => {
                    events.push(format!(
                        "model '{}' cannot be served as configured: {e}",
                        entry.name
                    ));
                    if let Some(old) = current.get(&entry.name) {
                        next.push(old.clone());
                    }
                }
            }
        }
        for name in current.keys() {
            if !entries.iter().any(|e| &e.name == name) {
                events.push(format!(
                    "model '{name}' is no longer in the config file; unloaded"
                ));
            }
        }
        self.replace(next);
        *applied = text;
        events
    }
}
