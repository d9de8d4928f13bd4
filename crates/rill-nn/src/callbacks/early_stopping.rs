use super::{higher_is_better, monitored, Callback};
use crate::{Logs, Result, Sequential};
use rill_core::Tensor;

/// Stops training when `monitor` has not improved by `min_delta` for `patience` epochs; can put
/// back the best weights seen.
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    /// What to watch (`val_loss` by default).
    pub monitor: String,
    /// Epochs without improvement to tolerate.
    pub patience: usize,
    /// The smallest change that counts as improvement.
    pub min_delta: f64,
    /// Restore the weights of the best epoch when stopping.
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
            restore_best_weights: false,
            best: None,
            wait: 0,
            best_weights: None,
            stopped_epoch: None,
        }
    }
    /// Restores the best weights when stopping.
    pub fn restore_best_weights(mut self, on: bool) -> Self {
        self.restore_best_weights = on;
        self
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<()> {
        self.best = None;
        self.wait = 0;
        self.stopped_epoch = None;
        Ok(())
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Sequential) -> Result<()> {
        let v = monitored(&self.monitor, logs)?;
        let sign = if higher_is_better(&self.monitor) {
            1.0
        } else {
            -1.0
        };
        let improved = self.best.is_none_or(|b| sign * (v - b) > self.min_delta);
        if improved {
            self.best = Some(v);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            return Ok(());
        }
        self.wait += 1;
        if self.wait >= self.patience {
            model.stop_training = true;
            self.stopped_epoch = Some(epoch);
            if let Some(w) = &self.best_weights {
                model.set_weights(w)?;
            }
        }
        Ok(())
    }
}
