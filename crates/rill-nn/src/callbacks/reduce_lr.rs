use super::{monitored, Callback, Mode};
use crate::{Logs, Result, Sequential};

/// Multiplies the learning rate by `factor` when `monitor` has not improved for `patience`
/// epochs, never going below `min_lr` (Keras' defaults: factor 0.1, patience 10).
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    /// What to watch.
    pub monitor: String,
    /// The multiplier applied on a plateau.
    pub factor: f64,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// The floor of the learning rate.
    pub min_lr: f64,
    /// Epochs to wait after a reduction before watching again.
    pub cooldown: usize,
    /// Which direction is better.
    pub mode: Mode,
    best: Option<f64>,
    wait: usize,
    cooling: usize,
}

impl ReduceLROnPlateau {
    /// Watches `monitor`, multiplying by `factor` after `patience` flat epochs.
    pub fn new(monitor: &str, factor: f64, patience: usize) -> Self {
        ReduceLROnPlateau {
            monitor: monitor.into(),
            factor,
            patience,
            min_lr: 0.0,
            cooldown: 0,
            mode: Mode::Auto,
            best: None,
            wait: 0,
            cooling: 0,
        }
    }
    /// Never lowers the rate below `lr`.
    pub fn min_lr(mut self, lr: f64) -> Self {
        self.min_lr = lr;
        self
    }
    /// Waits `epochs` after a reduction before watching again.
    pub fn cooldown(mut self, epochs: usize) -> Self {
        self.cooldown = epochs;
        self
    }
    /// Which direction is better (default: from the monitor's name).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, model: &mut Sequential) -> Result<()> {
        let v = monitored(&self.monitor, logs)?;
        let sign = if self.mode.higher_is_better(&self.monitor) {
            1.0
        } else {
            -1.0
        };
        if self.cooling > 0 {
            self.cooling -= 1;
            self.wait = 0;
        }
        if self
            .best
            .is_none_or(|b| sign * (v - b) > 1e-4 * b.abs().max(1e-12))
        {
            self.best = Some(v);
            self.wait = 0;
            return Ok(());
        }
        if self.cooling == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                if let Some(opt) = model.optimizer_mut() {
                    let lr = (opt.learning_rate() * self.factor).max(self.min_lr);
                    opt.set_learning_rate(lr);
                }
                self.cooling = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
}
