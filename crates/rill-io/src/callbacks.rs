//! Callbacks that write model files during `fit`.

use crate::{load_model, save_model_with, SaveOptions};
use rill_nn::callbacks::Callback;
use rill_nn::{Error, Logs, Model, Result};
use std::path::PathBuf;

fn io_err(e: crate::Error) -> Error {
    Error::Config(e.to_string())
}

/// Saves the model after each epoch — or only when `monitor` improves, with `save_best_only` —
/// as Keras' `ModelCheckpoint`. `{epoch}` in the path is replaced by the epoch number (from 1).
/// Every write is atomic.
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    path: String,
    monitor: String,
    save_best_only: bool,
    best: Option<f64>,
}

impl ModelCheckpoint {
    /// Saves to `path` after every epoch, watching `val_loss`.
    pub fn new(path: impl Into<String>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: "val_loss".into(),
            save_best_only: false,
            best: None,
        }
    }
    /// Watches `monitor` instead of `val_loss`.
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.into();
        self
    }
    /// Saves only when the monitored value improves on the best so far.
    pub fn save_best_only(mut self, on: bool) -> Self {
        self.save_best_only = on;
        self
    }
}

impl Callback for ModelCheckpoint {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<()> {
        if self.save_best_only {
            let v = *logs.get(&self.monitor).ok_or_else(|| {
                Error::Config(format!(
                    "ModelCheckpoint monitors '{}', which is not logged",
                    self.monitor
                ))
            })?;
            let m = self.monitor.trim_start_matches("val_");
            let higher = m.contains("acc")
                || m.starts_with("auc")
                || m.contains("precision")
                || m.contains("recall")
                || m.starts_with("f1");
            let better = self.best.is_none_or(|b| if higher { v > b } else { v < b });
            if !better {
                return Ok(());
            }
            self.best = Some(v);
        }
        let path = self.path.replace("{epoch}", &(epoch + 1).to_string());
        save_model_with(model, path, &SaveOptions::default()).map_err(io_err)
    }
}

/// Backs up the model (its layers' random-number state included), its optimizer state and the
/// epoch number after every epoch; a run that was killed restarts from its last completed
/// epoch and, given the same data and seed, ends with exactly the weights an uninterrupted run
/// would have. The backup is removed when training completes.
#[derive(Debug, Clone)]
pub struct BackupAndRestore {
    dir: PathBuf,
}

impl BackupAndRestore {
    /// Keeps the backup in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BackupAndRestore { dir: dir.into() }
    }
    fn model_path(&self) -> PathBuf {
        self.dir.join("backup.rill")
    }
    fn epoch_path(&self) -> PathBuf {
        self.dir.join("epoch.json")
    }
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, model: &mut Model) -> Result<()> {
        let (mp, ep) = (self.model_path(), self.epoch_path());
        if !(mp.exists() && ep.exists()) {
            return Ok(());
        }
        let text = std::fs::read_to_string(&ep)
            .map_err(|e| Error::Config(format!("{}: {e}", ep.display())))?;
        let done: usize = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["epoch"].as_u64())
            .ok_or_else(|| Error::Config(format!("{}: not a backup epoch record", ep.display())))?
            as usize;
        let saved = load_model(&mp).map_err(io_err)?;
        // Every variable by name, the layers' random-number state included.
        for (name, value) in saved.named_weights() {
            model.set_weight(&name, &value)?;
        }
        // Optimizer state is keyed by variable: carry it over by the variables' names.
        let names: std::collections::HashMap<_, _> = saved
            .named_variables()
            .into_iter()
            .map(|(n, v)| (v.id(), n))
            .collect();
        let ids: std::collections::HashMap<_, _> = model
            .named_variables()
            .into_iter()
            .map(|(n, v)| (n, v.id()))
            .collect();
        let (Some(opt), Some(saved_opt)) = (model.optimizer_mut(), saved.optimizer()) else {
            return Err(Error::Config(
                "BackupAndRestore: the backup or the model has no optimizer".into(),
            ));
        };
        for ((_, dst), (_, src)) in opt.slots_mut().into_iter().zip(saved_opt.slots()) {
            dst.clear();
            for (saved_id, buffer) in src {
                if let Some(id) = names.get(saved_id).and_then(|n| ids.get(n)) {
                    dst.insert(*id, buffer.clone());
                }
            }
        }
        opt.options_mut().iterations = saved_opt.iterations();
        model.set_initial_epoch(done + 1);
        Ok(())
    }
    fn on_epoch_end(&mut self, epoch: usize, _logs: &Logs, model: &mut Model) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::Config(format!("{}: {e}", self.dir.display())))?;
        save_model_with(
            model,
            self.model_path(),
            &SaveOptions {
                include_optimizer: true,
                class_names: None,
            },
        )
        .map_err(io_err)?;
        // The epoch record is written after the model, so it never points past what is saved.
        let tmp = self.dir.join("epoch.json.tmp");
        std::fs::write(&tmp, serde_json::json!({"epoch": epoch}).to_string())
            .and_then(|_| std::fs::rename(&tmp, self.epoch_path()))
            .map_err(|e| Error::Config(format!("{}: {e}", self.dir.display())))
    }
    fn on_train_end(&mut self, _model: &mut Model) -> Result<()> {
        let _ = std::fs::remove_file(self.epoch_path());
        let _ = std::fs::remove_file(self.model_path());
        Ok(())
    }
}
