//! Callbacks that write model files during `fit`.

use crate::{load_model, save_model_with, SaveOptions};
use rill_nn::callbacks::{Callback, Mode};
use rill_nn::{Error, Logs, Model, Result};
use std::path::PathBuf;

fn io_err(e: crate::Error) -> Error {
    Error::Config(e.to_string())
}

/// Saves the model after each epoch — or only when `monitor` improves, with `save_best_only` —
/// as Keras' `ModelCheckpoint`. The path takes Keras' placeholders with Python's format specs:
/// `{epoch}` or `{epoch:02d}` (from 1) and any logged value, e.g. `{val_loss:.2f}`. Every
/// write is atomic.
///
/// ```
/// use rill_io::ModelCheckpoint;
/// let best = ModelCheckpoint::new("out/model-{epoch:02d}-{val_accuracy:.3f}.rill")
///     .monitor("val_accuracy")
///     .save_best_only(true);
/// ```
pub struct ModelCheckpoint {
    path: String,
    monitor: String,
    mode: Mode,
    save_best_only: bool,
    best: Option<f64>,
    saver: Option<Saver>,
}

/// How a checkpoint writes the model, when not as a Rill file.
type Saver = Box<dyn Fn(&Model, &str) -> Result<()> + Send>;

impl std::fmt::Debug for ModelCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCheckpoint")
            .field("path", &self.path)
            .field("monitor", &self.monitor)
            .field("mode", &self.mode)
            .field("save_best_only", &self.save_best_only)
            .field("best", &self.best)
            .finish_non_exhaustive()
    }
}

impl ModelCheckpoint {
    /// Saves to `path` after every epoch, watching `val_loss`.
    pub fn new(path: impl Into<String>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: "val_loss".into(),
            mode: Mode::Auto,
            save_best_only: false,
            best: None,
            saver: None,
        }
    }
    /// Writes each checkpoint with `save` instead of as a Rill file (a Keras `.keras` file,
    /// say, from a crate that writes one), given the model and the formatted path.
    pub fn with_saver(
        mut self,
        save: impl Fn(&Model, &str) -> Result<()> + Send + 'static,
    ) -> Self {
        self.saver = Some(Box::new(save));
        self
    }
    /// Watches `monitor` instead of `val_loss`.
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.into();
        self
    }
    /// Which direction is better (default: from the monitor's name).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
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
        // Formatted first: a path naming a value that is not logged fails on the first epoch.
        let path = format_path(&self.path, epoch + 1, logs)?;
        if self.save_best_only {
            let v = *logs.get(&self.monitor).ok_or_else(|| {
                Error::Config(format!(
                    "ModelCheckpoint monitors '{}', which is not logged",
                    self.monitor
                ))
            })?;
            if !self
                .best
                .is_none_or(|b| self.mode.improves(&self.monitor, v, b, 0.0))
            {
                return Ok(());
            }
            self.best = Some(v);
        }
        match &self.saver {
            Some(save) => save(model, &path),
            None => save_model_with(model, path, &SaveOptions::default()).map_err(io_err),
        }
    }
}

/// Fills Keras' `{name}` / `{name:spec}` placeholders: `epoch` (an integer) and logged values.
/// Specs are Python's for numbers: `[0][width][.precision][d|f|e|%]`.
pub fn format_path(template: &str, epoch: usize, logs: &Logs) -> Result<String> {
    let bad = |what: String| Error::Config(format!("ModelCheckpoint path '{template}': {what}"));
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| bad("a '{' is not closed".into()))?;
        let field = &rest[open + 1..open + close];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let value = match name {
            "epoch" => epoch as f64,
            _ => *logs.get(name).ok_or_else(|| {
                bad(format!(
                    "'{name}' is not logged; logged: epoch, {}",
                    logs.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?,
        };
        let default = if name == "epoch" { "d" } else { "" };
        out.push_str(
            &format_number(value, if spec.is_empty() { default } else { spec }).map_err(bad)?,
        );
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One number under a Python format spec such as `02d`, `.2f`, `8.3e`, `.1%` (or `""`).
fn format_number(v: f64, spec: &str) -> std::result::Result<String, String> {
    let unsupported =
        || format!("the format spec '{spec}' is not supported (use e.g. 02d, .4f, .2e)");
    let (body, kind) = match spec.chars().last() {
        Some(c @ ('d' | 'f' | 'e' | '%')) => (&spec[..spec.len() - 1], Some(c)),
        _ => (spec, None),
    };
    let zero = body.starts_with('0');
    let (width, precision) = match body.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().map_err(|_| unsupported())?)),
        None => (body, None),
    };
    let width: usize = if width.is_empty() {
        0
    } else {
        width.parse().map_err(|_| unsupported())?
    };
    let text = match (kind, precision) {
        (Some('d'), None) if v.fract() == 0.0 => format!("{}", v as i64),
        (Some('d'), _) => return Err(format!("'{spec}' formats integers, found {v}")),
        (Some('f'), p) => format!("{v:.*}", p.unwrap_or(6)),
        (Some('e'), p) => python_exponent(format!("{v:.*e}", p.unwrap_or(6))),
        (Some('%'), p) => format!("{:.*}%", p.unwrap_or(6), v * 100.0),
        (None, Some(p)) => format!("{v:.p$}"),
        (None, None) => format!("{v}"),
        _ => return Err(unsupported()),
    };
    Ok(match (zero, text.strip_prefix('-')) {
        (true, Some(digits)) => format!("-{digits:0>w$}", w = width.saturating_sub(1)),
        (true, None) => format!("{text:0>width$}"),
        (false, _) => format!("{text:>width$}"),
    })
}

/// Rust writes `1.5e-3`, Python `1.5e-03`: a signed exponent of at least two digits.
fn python_exponent(s: String) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_paths_take_keras_format_specs() {
        let mut logs = Logs::new();
        logs.insert("val_loss".into(), 0.123456);
        logs.insert("val_accuracy".into(), 0.9);
        logs.insert("loss".into(), -0.00151);
        let cases = [
            ("m-{epoch:02d}.rill", "m-07.rill"),
            ("m-{epoch}.rill", "m-7.rill"),
            ("{epoch:03d}-{val_loss:.2f}", "007-0.12"),
            ("{val_accuracy:.1%}", "90.0%"),
            ("{loss:.2e}", "-1.51e-03"),
            ("{val_loss:08.3f}", "0000.123"),
            ("{loss:07.3f}", "-00.002"),
            ("{val_loss}", "0.123456"),
            ("plain.rill", "plain.rill"),
        ];
        for (template, want) in cases {
            assert_eq!(format_path(template, 7, &logs).unwrap(), want, "{template}");
        }
        for (template, why) in [
            ("{val_auc:.2f}", "'val_auc' is not logged"),
            ("{epoch:02x}", "not supported"),
            ("{val_loss:d}", "formats integers"),
            ("m-{epoch", "not closed"),
        ] {
            let e = format_path(template, 7, &logs).unwrap_err().to_string();
            assert!(e.contains(why), "{template}: {e}");
        }
    }
}
