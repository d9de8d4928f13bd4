//! What `fit` needs from Python while it runs with the GIL released: user callbacks written
//! as Python classes, Keras' built-in callbacks, Ctrl-C, and a progress bar written to
//! `sys.stdout` (so that it shows in a notebook as in a terminal).

use crate::errors;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rill_nn::callbacks::{BatchEnd, Callback, Mode};
use rill_nn::{Logs, Model, Verbosity};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keras' `verbose`: 0 silent, 1 a progress bar (one line per epoch when not on a terminal
/// or in a notebook), 2 one line per epoch.
pub(crate) fn verbosity(v: u8) -> Verbosity {
    match v {
        0 => Verbosity::Silent,
        1 => Verbosity::Auto,
        _ => Verbosity::OneLine,
    }
}

/// The Python exception that ended a run early, kept until `fit` returns.
type Raised = Arc<Mutex<Option<PyErr>>>;

/// One `fit` call: the Python model it trains (for `stop_training`) and the exception, if
/// any, that a callback or Ctrl-C raised.
pub(crate) struct Run {
    owner: Arc<Py<PyAny>>,
    raised: Raised,
}

/// The Rill error that carries a Python exception out of `fit`.
fn stopped() -> rill_nn::Error {
    rill_nn::Error::Config("fit stopped by a Python exception".into())
}

fn keep(raised: &Raised, e: PyErr) -> rill_nn::Error {
    *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    stopped()
}

impl Run {
    pub(crate) fn new(owner: Py<PyAny>) -> Self {
        Run {
            owner: Arc::new(owner),
            raised: Arc::new(Mutex::new(None)),
        }
    }
    /// The callback that turns Ctrl-C into `KeyboardInterrupt` between steps.
    pub(crate) fn interrupt_check(&self) -> InterruptCheck {
        InterruptCheck {
            raised: self.raised.clone(),
            last: Instant::now(),
        }
    }
    /// `fit`'s result, or the Python exception that stopped it.
    pub(crate) fn finish<T>(self, result: PyResult<T>) -> PyResult<T> {
        match self.raised.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => result,
        }
    }
}

/// Checks for signals (Ctrl-C) at most every 50 ms of training: Python's handler only sets a
/// flag while Rill runs, so Rill asks Python to act on it.
pub(crate) struct InterruptCheck {
    raised: Raised,
    last: Instant,
}

impl InterruptCheck {
    fn check(&mut self) -> rill_nn::Result<()> {
        // An exception kept by a hook that cannot return one (a schedule) ends the run here.
        if self
            .raised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Err(stopped());
        }
        if self.last.elapsed() < Duration::from_millis(50) {
            return Ok(());
        }
        self.last = Instant::now();
        Python::attach(|py| py.check_signals()).map_err(|e| keep(&self.raised, e))
    }
}

impl Callback for InterruptCheck {
    fn on_train_batch_end(
        &mut self,
        _step: usize,
        _batch: &BatchEnd,
        _model: &mut Model,
    ) -> rill_nn::Result<()> {
        self.check()
    }
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &Logs,
        _model: &mut Model,
    ) -> rill_nn::Result<()> {
        self.last = Instant::now() - Duration::from_secs(1);
        self.check()
    }
}

fn logs_dict<'py>(py: Python<'py>, logs: &Logs) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in logs.iter() {
        d.set_item(k, *v)?;
    }
    Ok(d)
}

/// A user's callback: a Python object with Keras' hook methods.
struct PythonCallback {
    callback: Py<PyAny>,
    owner: Arc<Py<PyAny>>,
    raised: Raised,
    batch_hooks: bool,
}

impl PythonCallback {
    /// Calls `method` with `args`, then applies `self.model.stop_training`.
    fn call(
        &self,
        model: &mut Model,
        method: &str,
        args: impl FnOnce(Python<'_>) -> PyResult<Vec<Py<PyAny>>>,
    ) -> rill_nn::Result<()> {
        Python::attach(|py| -> PyResult<()> {
            let args = args(py)?;
            let args = pyo3::types::PyTuple::new(py, args)?;
            self.callback.bind(py).call_method1(method, args)?;
            let owner = self.owner.bind(py);
            if owner.getattr("stop_training")?.is_truthy()? {
                model.stop_training = true;
            }
            Ok(())
        })
        .map_err(|e| keep(&self.raised, e))
    }
}

impl Callback for PythonCallback {
    fn on_train_begin(&mut self, model: &mut Model) -> rill_nn::Result<()> {
        self.call(model, "on_train_begin", |py| {
            Ok(vec![PyDict::new(py).into_any().unbind()])
        })
    }
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Model) -> rill_nn::Result<()> {
        self.call(model, "on_epoch_begin", |py| {
            Ok(vec![
                epoch.into_pyobject(py)?.into_any().unbind(),
                PyDict::new(py).into_any().unbind(),
            ])
        })
    }
    fn on_train_batch_end(
        &mut self,
        step: usize,
        batch: &BatchEnd,
        model: &mut Model,
    ) -> rill_nn::Result<()> {
        // The running logs cost a little per step: only for a callback that overrides the hook.
        if !self.batch_hooks {
            return Ok(());
        }
        let logs = batch.logs(model);
        self.call(model, "on_train_batch_end", |py| {
            Ok(vec![
                step.into_pyobject(py)?.into_any().unbind(),
                logs_dict(py, &logs)?.into_any().unbind(),
            ])
        })
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        model: &mut Model,
    ) -> rill_nn::Result<()> {
        self.call(model, "on_epoch_end", |py| {
            Ok(vec![
                epoch.into_pyobject(py)?.into_any().unbind(),
                logs_dict(py, logs)?.into_any().unbind(),
            ])
        })
    }
    fn on_train_end(&mut self, model: &mut Model) -> rill_nn::Result<()> {
        self.call(model, "on_train_end", |py| {
            Ok(vec![PyDict::new(py).into_any().unbind()])
        })
    }
}

/// A learning-rate schedule written in Python: `schedule(epoch, lr) -> lr`.
struct PythonSchedule {
    schedule: Py<PyAny>,
    raised: Raised,
}

impl PythonSchedule {
    fn call(&self, epoch: usize, lr: f64) -> f64 {
        Python::attach(|py| self.schedule.bind(py).call1((epoch, lr))?.extract::<f64>())
            .unwrap_or_else(|e| {
                keep(&self.raised, e);
                lr
            })
    }
}

fn mode(c: &Bound<'_, PyDict>) -> PyResult<Mode> {
    match c.get_item("mode")? {
        Some(m) => Mode::from_name(&m.extract::<String>()?).map_err(errors::nn),
        None => Ok(Mode::Auto),
    }
}

fn get<'py, T: pyo3::conversion::FromPyObjectOwned<'py>>(
    c: &Bound<'py, PyDict>,
    key: &str,
    default: T,
) -> PyResult<T> {
    match c.get_item(key)? {
        Some(v) if !v.is_none() => v.extract::<T>().map_err(Into::into),
        _ => Ok(default),
    }
}

/// The Rill callback for a Python one: `(kind, config)` from `rill.keras.callbacks`' built-in
/// classes, or `("python", object, wants_batch_logs)` for a user's own.
pub(crate) fn callback(spec: &Bound<'_, PyAny>, run: &Run) -> PyResult<Box<dyn Callback>> {
    let kind: String = spec.get_item(0)?.extract()?;
    if kind == "python" {
        return Ok(Box::new(PythonCallback {
            callback: spec.get_item(1)?.unbind(),
            owner: run.owner.clone(),
            raised: run.raised.clone(),
            batch_hooks: spec.get_item(2)?.extract()?,
        }));
    }
    let item = spec.get_item(1)?;
    let c = item.cast::<PyDict>()?;
    Ok(match kind.as_str() {
        "EarlyStopping" => {
            let mut e = rill_nn::callbacks::EarlyStopping::new(
                &get(c, "monitor", "val_loss".to_string())?,
                get(c, "patience", 0)?,
            )
            .min_delta(get(c, "min_delta", 0.0)?)
            .mode(mode(c)?)
            .restore_best_weights(get(c, "restore_best_weights", false)?)
            .start_from_epoch(get(c, "start_from_epoch", 0)?);
            if let Some(b) = get::<Option<f64>>(c, "baseline", None)? {
                e = e.baseline(b);
            }
            Box::new(e)
        }
        "ReduceLROnPlateau" => Box::new(
            rill_nn::callbacks::ReduceLROnPlateau::new(
                &get(c, "monitor", "val_loss".to_string())?,
                get(c, "factor", 0.1)?,
                get(c, "patience", 10)?,
            )
            .min_lr(get(c, "min_lr", 0.0)?)
            .cooldown(get(c, "cooldown", 0)?)
            .mode(mode(c)?),
        ),
        "CSVLogger" => Box::new(rill_nn::callbacks::CsvLogger::new(get(
            c,
            "filename",
            String::new(),
        )?)),
        "TerminateOnNaN" => Box::new(rill_nn::callbacks::TerminateOnNaN),
        "ModelCheckpoint" => {
            let path: String = get(c, "filepath", String::new())?;
            let weights_only: bool = get(c, "save_weights_only", false)?;
            let weights_file = path.to_ascii_lowercase().ends_with(".weights.h5");
            if weights_only != weights_file {
                return Err(PyValueError::new_err(format!(
                    "ModelCheckpoint: filepath '{path}' must end in .weights.h5 when, and only when, save_weights_only=True, as Keras asks"
                )));
            }
            Box::new(
                rill_saving::checkpoint(path)
                    .map_err(|e| PyValueError::new_err(format!("ModelCheckpoint: {e}")))?
                    .monitor(&get(c, "monitor", "val_loss".to_string())?)
                    .mode(mode(c)?)
                    .save_best_only(get(c, "save_best_only", false)?),
            )
        }
        "TensorBoard" => {
            let mut t = rill_tensorboard::TensorBoard::new(get(c, "log_dir", "logs".to_string())?)
                .histogram_freq(get(c, "histogram_freq", 0)?)
                .write_graph(get(c, "write_graph", true)?)
                .write_images(get(c, "write_images", false)?);
            match c.get_item("update_freq")? {
                Some(f) if f.extract::<String>().is_ok_and(|s| s == "batch") => {
                    t = t.update_freq(rill_tensorboard::UpdateFreq::Every(1))
                }
                Some(f) if f.extract::<usize>().is_ok() => {
                    t = t.update_freq(rill_tensorboard::UpdateFreq::Every(f.extract()?))
                }
                _ => {}
            }
            Box::new(t)
        }
        "LearningRateScheduler" => {
            let schedule = PythonSchedule {
                schedule: c
                    .get_item("schedule")?
                    .ok_or_else(|| PyValueError::new_err("LearningRateScheduler needs a schedule"))?
                    .unbind(),
                raised: run.raised.clone(),
            };
            Box::new(rill_nn::callbacks::LearningRateScheduler::new(
                move |epoch, lr| schedule.call(epoch, lr),
            ))
        }
        other => return Err(PyValueError::new_err(format!("unknown callback '{other}'"))),
    })
}

/// Progress lines to Python's `sys.stdout`: redrawn in place (`\r`) in a terminal or a
/// Jupyter notebook, one line per epoch elsewhere.
pub(crate) struct PythonStdout {
    /// The length of the line last drawn in place, to blank what a shorter one leaves.
    drawn: Mutex<usize>,
}

impl PythonStdout {
    pub(crate) fn new() -> Self {
        PythonStdout {
            drawn: Mutex::new(0),
        }
    }
    fn write(&self, text: &str) {
        Python::attach(|py| -> PyResult<()> {
            let out = py.import("sys")?.getattr("stdout")?;
            out.call_method1("write", (text,))?;
            out.call_method0("flush")?;
            Ok(())
        })
        .unwrap_or(()); // a closed or replaced stdout only loses the progress text
    }
    fn padded(&self, line: &str) -> String {
        let mut drawn = self.drawn.lock().unwrap_or_else(|p| p.into_inner());
        let width = line.chars().count();
        let pad = drawn.saturating_sub(width);
        *drawn = width;
        format!("\r{line}{}", " ".repeat(pad))
    }
}

impl rill_nn::ProgressOutput for PythonStdout {
    fn is_live(&self) -> bool {
        Python::attach(|py| -> PyResult<bool> {
            let sys = py.import("sys")?;
            if sys.getattr("modules")?.contains("ipykernel")? {
                return Ok(true);
            }
            sys.getattr("stdout")?.call_method0("isatty")?.is_truthy()
        })
        .unwrap_or(false)
    }
    fn redraw(&self, line: &str) {
        let text = self.padded(line);
        self.write(&text);
    }
    fn print_line(&self, line: &str) {
        let drawn = std::mem::take(&mut *self.drawn.lock().unwrap_or_else(|p| p.into_inner()));
        let text = if drawn > 0 {
            format!(
                "\r{line}{}\n",
                " ".repeat(drawn.saturating_sub(line.chars().count()))
            )
        } else {
            format!("{line}\n")
        };
        self.write(&text);
    }
}
