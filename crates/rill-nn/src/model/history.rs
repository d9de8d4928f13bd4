use std::collections::BTreeMap;

/// Named values at the end of a batch or epoch: `loss`, `accuracy`, `val_loss`...
pub type Logs = BTreeMap<String, f64>;

/// What `fit` returns: one value per epoch for each loss and metric, and their `val_` forms.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Per-epoch values by name.
    pub history: BTreeMap<String, Vec<f64>>,
    /// The epochs run (fewer than asked when a callback stopped training).
    pub epochs: usize,
}

impl History {
    pub(crate) fn push(&mut self, logs: &Logs) {
        for (k, v) in logs {
            self.history.entry(k.clone()).or_default().push(*v);
        }
        self.epochs += 1;
    }
    /// The per-epoch values of `name`, if recorded.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history.get(name).map(Vec::as_slice)
    }
    /// The last epoch's value of `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.last().copied())
    }
}
