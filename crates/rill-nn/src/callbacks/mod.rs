//! Hooks into `fit`: stop early, change the learning rate, log, or anything a user writes by
//! implementing [`Callback`].

mod early_stopping;
mod misc;
mod reduce_lr;

pub use early_stopping::EarlyStopping;
pub use misc::{CsvLogger, LearningRateScheduler, TerminateOnNaN};
pub use reduce_lr::ReduceLROnPlateau;

use crate::{Logs, Model, Result};

/// A hook run by `fit`. Every method has a default that does nothing.
pub trait Callback: Send {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// Before each epoch.
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// After each training step, with the batch loss.
    fn on_batch_end(&mut self, _step: usize, _loss: f64, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with its logs (`loss`, metrics, `val_*`). Set
    /// `model.stop_training = true` to end training.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// After the last epoch.
    fn on_train_end(&mut self, _model: &mut Model) -> Result<()> {
        Ok(())
    }
}

/// Whether larger values of `monitor` are better (accuracy-like) — Keras' `mode="auto"`.
pub(crate) fn higher_is_better(monitor: &str) -> bool {
    let m = monitor.trim_start_matches("val_");
    m.contains("acc")
        || m.starts_with("auc")
        || m.contains("precision")
        || m.contains("recall")
        || m.starts_with("f1")
}

/// Reads `monitor` from the logs, with an error that lists what is there.
pub(crate) fn monitored(monitor: &str, logs: &Logs) -> Result<f64> {
    logs.get(monitor).copied().ok_or_else(|| {
        crate::Error::Config(format!(
            "callback monitors '{monitor}', which is not logged; available: {}",
            logs.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}
