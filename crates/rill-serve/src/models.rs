//! The set of models a server answers for, by name: one for `rill serve MODEL`, several from a
//! model config file.

use crate::store::ModelStore;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The models being served, by the name clients use; replaceable while serving.
#[derive(Default)]
pub struct ModelSet {
    stores: RwLock<BTreeMap<String, Arc<ModelStore>>>,
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

    /// Rescans every model's versions; one log line per event.
    pub fn refresh(&self) -> Vec<String> {
        self.all().iter().flat_map(|s| s.refresh()).collect()
    }
}
