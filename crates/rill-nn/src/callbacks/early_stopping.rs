use super::{monitored, Callback, Mode};
use crate::{Logs, Model, Result};
use rill_core::Tensor;

/// Stops training when `monitor` has not improved by `min_delta` for `patience` epochs, as
/// Keras' `EarlyStopping`, with its arguments as builder methods; can put back the best
/// weights seen.
///
/// ```
/// use rill_nn::prelude::*;
/// let stop = EarlyStopping::new("val_loss", 3)
///     .min_delta(1e-3)
///     .mode(Mode::Min)
///     .start_from_epoch(2)
///     .restore_best_weights(true);
/// assert_eq!(stop.min_delta, 1e-3);
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    /// What to watch (`val_loss` by default).
    pub monitor: String,
    /// Epochs without improvement to tolerate.
    pub patience: usize,
    /// The smallest change that counts as improvement.
    pub min_delta: f64,
    /// Which direction is better.
    pub mode: Mode,
    /// A value the monitor must beat: training stops after `patience` epochs that do not.
    pub baseline: Option<f64>,
    /// Epochs to train before watching at all (a warm-up).
    pub start_from_epoch: usize,
    /// Restore the weights of the best epoch at the end of training.
    pub restore_best_weights: bool,
    best: Option<f64>,
    wait: usize,
    best_weights: Option<Vec<Tensor>>,
    /// The epoch at which training was stopped, if it was.
    pub stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` with `patience`.
    pub fn new(monitor: &str, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.into(),
            patience,
            min_delta: 0.0,
            mode: Mode::Auto,
            baseline: None,
            start_from_epoch: 0,
            restore_best_weights: false,
            best: None,
            wait: 0,
            best_weights: None,
            stopped_epoch: None,
        }
    }
    /// Restores the best epoch's weights when training ends.
    pub fn restore_best_weights(mut self, on: bool) -> Self {
        self.restore_best_weights = on;
        self
    }
    /// Counts only changes larger than `delta` as improvement.
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.min_delta = delta.abs();
        self
    }
    /// Which direction is better (default: from the monitor's name).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Stops after `patience` epochs that do not beat `value`.
    pub fn baseline(mut self, value: f64) -> Self {
        self.baseline = Some(value);
        self
    }
    /// Does not watch the first `epochs` epochs.
    pub fn start_from_epoch(mut self, epochs: usize) -> Self {
        self.start_from_epoch = epochs;
        self
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        self.best = None;
        self.wait = 0;
        self.stopped_epoch = None;
        self.best_weights = None;
        Ok(())
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<()> {
        let v = monitored(&self.monitor, logs)?;
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        let improves = |reference| {
            self.mode
                .improves(&self.monitor, v, reference, self.min_delta)
        };
        self.wait += 1;
        if self.best.is_none_or(improves) {
            self.best = Some(v);
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            // The wait restarts only on beating both the best so far and the baseline; an
            // epoch that improves never stops training (Keras 3's rules).
            if self.baseline.is_none_or(improves) {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            model.stop_training = true;
            self.stopped_epoch = Some(epoch);
        }
        Ok(())
    }
    fn on_train_end(&mut self, model: &mut Model) -> Result<()> {
        if let Some(w) = self.best_weights.take() {
            model.set_weights(&w)?;
        }
        Ok(())
    }
}
