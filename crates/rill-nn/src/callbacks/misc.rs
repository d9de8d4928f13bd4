use super::{BatchEnd, Callback};
use crate::{Error, Logs, Result, Sequential};
use std::io::Write;
use std::path::PathBuf;

/// Sets the learning rate at the start of each epoch from `schedule(epoch, current_lr)`.
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f64) -> f64 + Send>,
}

impl LearningRateScheduler {
    /// A scheduler calling `schedule(epoch, lr)`.
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + Send + 'static) -> Self {
        LearningRateScheduler {
            schedule: Box::new(schedule),
        }
    }
}

impl Callback for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        if let Some(opt) = model.optimizer_mut() {
            let lr = (self.schedule)(epoch, opt.learning_rate());
            opt.set_learning_rate(lr);
        }
        Ok(())
    }
}

/// Stops training as soon as a batch loss is NaN or infinite.
#[derive(Debug, Default, Clone)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_train_batch_end(
        &mut self,
        step: usize,
        batch: &BatchEnd,
        model: &mut Sequential,
    ) -> Result<()> {
        let loss = batch.loss();
        if !loss.is_finite() {
            eprintln!("Batch {step}: invalid loss {loss}, terminating training");
            model.stop_training = true;
        }
        Ok(())
    }
}

/// Writes each epoch's logs as a CSV row (`epoch,` then the log names in order). The file is
/// rewritten whole after every epoch through a temporary file and a rename, so it is never
/// left half-written.
#[derive(Debug, Clone)]
pub struct CsvLogger {
    path: PathBuf,
    rows: Vec<(usize, Logs)>,
}

impl CsvLogger {
    /// Logs to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger {
            path: path.into(),
            rows: Vec::new(),
        }
    }
}

impl Callback for CsvLogger {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _model: &mut Sequential) -> Result<()> {
        self.rows.push((epoch, logs.clone()));
        let mut text = String::from("epoch");
        for k in logs.keys() {
            text += &format!(",{k}");
        }
        text.push('\n');
        for (e, row) in &self.rows {
            text += &e.to_string();
            for k in logs.keys() {
                text += &format!(",{}", row.get(k).map(|v| v.to_string()).unwrap_or_default());
            }
            text.push('\n');
        }
        let tmp = self.path.with_extension("csv.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            Error::Config(format!(
                "CSVLogger: cannot write {}: {e}",
                self.path.display()
            ))
        })
    }
}
