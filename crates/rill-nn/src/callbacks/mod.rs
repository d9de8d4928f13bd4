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
    /// After each training step (Keras' `on_train_batch_end`): the batch's loss, and on request
    /// ([`BatchEnd::logs`]) the epoch's running logs, which cost a little to compute.
    fn on_train_batch_end(
        &mut self,
        _step: usize,
        _batch: &BatchEnd,
        _model: &mut Model,
    ) -> Result<()> {
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

/// What a callback learns after a training step.
#[derive(Debug, Clone)]
pub struct BatchEnd {
    pub(crate) loss: f64,
    /// The epoch's mean loss and mean loss per output so far.
    pub(crate) running: (f64, Vec<f64>),
}

impl BatchEnd {
    /// This batch's loss.
    pub fn loss(&self) -> f64 {
        self.loss
    }
    /// The epoch's running logs so far — the mean loss and the metrics over its batches up to
    /// this one, as Keras' `on_train_batch_end` gets them — computed when asked.
    pub fn logs(&self, model: &Model) -> Logs {
        model.metric_logs("", self.running.clone())
    }
}

/// Which direction of the monitored value is an improvement (Keras' `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Up for accuracy-like names (`accuracy`, `auc`, `precision`, `recall`, `f1_score`),
    /// down for the rest (losses, errors).
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// Keras' names: `"auto"`, `"min"`, `"max"`.
    pub fn from_name(name: &str) -> Result<Mode> {
        match name {
            "auto" => Ok(Mode::Auto),
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            other => Err(crate::Error::Config(format!(
                "mode must be \"auto\", \"min\" or \"max\", found \"{other}\""
            ))),
        }
    }

    /// Whether larger values of `monitor` are better.
    pub fn higher_is_better(self, monitor: &str) -> bool {
        match self {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => {
                let m = monitor.trim_start_matches("val_");
                m.contains("acc")
                    || m.starts_with("auc")
                    || m.contains("precision")
                    || m.contains("recall")
                    || m.starts_with("f1")
            }
        }
    }

    /// Whether `value` beats `reference` by more than `min_delta` in this direction.
    pub fn improves(self, monitor: &str, value: f64, reference: f64, min_delta: f64) -> bool {
        let sign = if self.higher_is_better(monitor) {
            1.0
        } else {
            -1.0
        };
        sign * (value - reference) > min_delta.abs()
    }
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
