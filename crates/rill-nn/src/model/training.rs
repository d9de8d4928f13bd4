//! The trainer: `fit`, `evaluate`, `predict` and the `*_on_batch` forms, for every model.

use super::batches::{slice_all, TensorBatches};
use super::fit_config::FitConfig;
use super::history::{History, Logs};
use super::progress::{Progress, Verbosity};
use super::Model;
use crate::error::batch_shape;
use crate::{Error, Result};
use rill_core::float_mode::FlushDenormalsEverywhere;
use rill_core::{no_grad, Batch, Batches, DType, Data, Feed, FlushDenormals, Tensor};

/// A batch as the layers take it: f64 data becomes f32 here; bytes and integers are cast one
/// batch at a time (not the whole data set up front) by `call_many`, to what each input takes
/// (f32, or exact i64 ids); text stays text.
fn model_input(x: &Tensor) -> Result<Tensor> {
    match x.dtype() {
        DType::F64 => Ok(x.to_dtype(DType::F32)?),
        _ => Ok(x.clone()),
    }
}

/// The floating-point and memory modes of a loop over many batches: subnormals flushed on this
/// thread and the pool's, and freed buffers kept for the next batch (see `rill_core::memory`).
fn batch_loop_mode() -> FlushDenormalsEverywhere {
    rill_core::memory::retain_freed_buffers();
    FlushDenormals::everywhere()
}

fn batch_error(op: &str, e: rill_core::batches::BatchError) -> Error {
    Error::Input(format!("{op}: {e}"))
}

/// A batch's inputs and targets; `op` names the method in the error for a batch without targets.
fn with_targets(op: &str, batch: Batch) -> Result<(Data, Data)> {
    match batch.y {
        Some(y) => Ok((batch.x, y)),
        None => Err(Error::Input(format!(
            "{op}: the data holds inputs without targets; give (x, y), or a dataset of (features, labels)"
        ))),
    }
}

/// `(x, y)` from whole tensors, or an error naming `op` when the targets are missing.
fn tensors_with_targets(op: &str, x: Data, y: Option<Data>) -> Result<(Data, Data)> {
    with_targets(op, Batch { x, y })
}

/// One batch's loss: the weighted total (with the layers' penalties) and each output's own.
struct BatchLoss {
    total: Tensor,
    per_output: Vec<f64>,
    predictions: Vec<Tensor>,
}

/// Running sums of losses over an epoch, weighted by batch size.
#[derive(Default)]
struct LossSums {
    total: f64,
    per_output: Vec<f64>,
    seen: usize,
}

impl LossSums {
    fn add(&mut self, total: f64, per_output: &[f64], count: usize) {
        self.total += total * count as f64;
        self.per_output.resize(per_output.len(), 0.0);
        for (s, l) in self.per_output.iter_mut().zip(per_output) {
            *s += l * count as f64;
        }
        self.seen += count;
    }
    fn mean(&self) -> (f64, Vec<f64>) {
        let n = self.seen.max(1) as f64;
        (
            self.total / n,
            self.per_output.iter().map(|s| s / n).collect(),
        )
    }
}

impl Model {
    /// Checks input batches against the model's inputs, building an unbuilt stack from them.
    fn check_inputs(&mut self, op: &str, xs: &[Tensor]) -> Result<()> {
        if let Some(x) = xs.iter().find(|x| x.rank() == 0) {
            return Err(Error::Input(format!(
                "{op}: expected a batch of samples, found a scalar {x:?}"
            )));
        }
        if !self.is_built() {
            if xs.len() != 1 {
                return Err(Error::Input(format!(
                    "{op}: a sequential model takes one input, found {}",
                    xs.len()
                )));
            }
            self.build(&xs[0].shape()[1..])?;
        }
        let names = self.input_names();
        for ((x, want), name) in xs.iter().zip(self.input_shapes()).zip(&names) {
            if !super::fits(&x.shape()[1..], &want) {
                let which = if names.len() > 1 {
                    format!(" '{name}'")
                } else {
                    String::new()
                };
                return Err(Error::Input(format!(
                    "{op}: expected input{which} of shape {}, found {:?} (per-sample shape {:?} instead of {want:?})",
                    batch_shape(&want),
                    x.shape(),
                    &x.shape()[1..]
                )));
            }
        }
        let n = xs[0].shape()[0];
        if xs.iter().any(|x| x.shape()[0] != n) {
            return Err(Error::Input(format!(
                "{op}: all inputs must have the same number of samples, found {:?}",
                xs.iter().map(|x| x.shape()[0]).collect::<Vec<_>>()
            )));
        }
        Ok(())
    }

    /// Aligns and checks `(x, y)`: inputs against the model, targets against each output's
    /// loss, and sample counts. Returns both in model order, in their own dtypes (a data set
    /// of bytes stays bytes: each batch becomes f32 as it enters the model).
    fn check_xy(&mut self, op: &str, x: &Data, y: &Data) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let xs = if self.is_built() {
            self.align(op, "input", &self.input_names(), x)?
        } else {
            x.tensors().into_iter().cloned().collect()
        };
        self.check_inputs(op, &xs)?;
        self.compiled_for(op)?;
        let ys = self.align(op, "output", &self.output_names(), y)?;
        let n = xs[0].shape()[0];
        if let Some(bad) = ys.iter().find(|t| t.rank() == 0 || t.shape()[0] != n) {
            return Err(Error::Input(format!(
                "{op}: x and y must have the same number of samples, found {n} and {}",
                bad.shape().first().copied().unwrap_or(0)
            )));
        }
        let shapes = self.output_shapes();
        let names = self.output_names();
        let compiled = self.compiled.as_ref().expect("checked above");
        for (i, (t, loss)) in ys.iter().zip(&compiled.losses).enumerate() {
            loss.check_targets(t, &shapes[i]).map_err(|e| {
                if names.len() > 1 {
                    Error::Input(format!("{op}: output '{}': {e}", names[i]))
                } else {
                    Error::Input(format!("{op}: {e}"))
                }
            })?;
        }
        Ok((xs, ys))
    }

    /// The loss of a batch, with the graph recorded when training.
    fn batch_loss(&self, xs: &[Tensor], ys: &[Tensor], training: bool) -> Result<BatchLoss> {
        let inputs = xs.iter().map(model_input).collect::<Result<Vec<_>>>()?;
        let predictions = self.call_many(&inputs, training)?;
        let compiled = self
            .compiled
            .as_ref()
            .ok_or_else(|| Error::Config("compile first".into()))?;
        let mut total: Option<Tensor> = None;
        let mut per_output = Vec::with_capacity(predictions.len());
        for (((y, p), loss), &w) in ys
            .iter()
            .zip(&predictions)
            .zip(&compiled.losses)
            .zip(&compiled.loss_weights)
        {
            let l = loss.compute(y, p)?;
            per_output.push(l.detach().item::<f32>()? as f64);
            let weighted = if w == 1.0 { l } else { l.mul_scalar(w)? };
            total = Some(match total {
                Some(t) => t.add(&weighted)?,
                None => weighted,
            });
        }
        let mut total = total.ok_or_else(|| Error::Config("the model has no outputs".into()))?;
        if let Some(p) = self.regularization_loss()? {
            total = total.add(&p)?;
        }
        Ok(BatchLoss {
            total,
            per_output,
            predictions,
        })
    }

    /// One gradient step on a checked batch; returns the batch's losses and updates the metrics.
    fn step(&mut self, xs: &[Tensor], ys: &[Tensor]) -> Result<(f64, Vec<f64>)> {
        let BatchLoss {
            total,
            per_output,
            predictions,
        } = self.batch_loss(xs, ys, true)?;
        let grads = total.backward()?;
        let value = total.item::<f32>()? as f64;
        let predicted: Vec<Tensor> = predictions.iter().map(Tensor::detach).collect();
        // Drop the graph (the loss and the predictions hold it) before the update, so that the
        // weights are uniquely owned and change in place instead of being copied.
        drop((total, predictions));
        let variables = self.trainable_variables();
        let compiled = self.compiled.as_mut().expect("checked by caller");
        {
            let _metrics = rill_core::profile::scope("metrics");
            for ((ms, y), p) in compiled.metrics.iter_mut().zip(ys).zip(&predicted) {
                for m in ms {
                    m.update(y, p)?;
                }
            }
        }
        let _update = rill_core::profile::scope("optimizer");
        compiled.optimizer.apply(&variables, &grads)?;
        Ok((value, per_output))
    }

    /// Logs for losses and the compiled metrics' current results, with a `prefix` (`val_`).
    pub(crate) fn metric_logs(&self, prefix: &str, (loss, per_output): (f64, Vec<f64>)) -> Logs {
        let mut logs = Logs::new();
        logs.insert(format!("{prefix}loss"), loss);
        let Some(c) = &self.compiled else {
            return logs;
        };
        if per_output.len() > 1 {
            for (i, l) in per_output.iter().enumerate() {
                logs.insert(format!("{prefix}{}", self.log_name(i, "loss")), *l);
            }
        }
        for (i, ms) in c.metrics.iter().enumerate() {
            for m in ms {
                logs.insert(
                    format!("{prefix}{}", self.log_name(i, m.name())),
                    m.result(),
                );
            }
        }
        logs
    }

    fn reset_metrics(&mut self) {
        if let Some(c) = &mut self.compiled {
            c.metrics.iter_mut().flatten().for_each(|m| m.reset());
        }
    }

    /// Trains for `config.epochs` passes and returns the per-epoch history. `data` is `(x, y)`
    /// — each a tensor, a list of tensors in model order, or tensors by name — or a source of
    /// batches such as a `Dataset` (`model.fit(&dataset, config)`).
    ///
    /// Tensors are checked whole before any work (sample shapes, sample counts, targets against
    /// each loss); batches from a source are checked as they arrive. Batches are gathered by
    /// index from `x`, which is never copied per epoch.
    pub fn fit<'a>(&mut self, data: impl Into<Feed<'a>>, mut config: FitConfig) -> Result<History> {
        if config.batch_size == 0 {
            return Err(Error::Config("fit: batch_size must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&config.validation_split) {
            return Err(Error::Config(format!(
                "fit: validation_split must be in [0, 1), found {}",
                config.validation_split
            )));
        }
        let (batch_size, seed) = (config.batch_size, config.seed);
        let batches = |x: Vec<Tensor>, y: Vec<Tensor>, shuffle: bool| TensorBatches {
            x,
            y,
            batch_size,
            shuffle,
            seed,
        };
        let validation_data = match config.validation_data.take() {
            Some((vx, vy)) => {
                let (vx, vy) = self.check_xy("fit (validation_data)", &vx, &vy)?;
                Some(batches(vx, vy, false))
            }
            None => None,
        };
        let given_batches = config.validation_batches.take();
        let (train, split): (Box<dyn Batches + '_>, Option<TensorBatches>) = match data.into() {
            Feed::Tensors { x, y } => {
                let (x, y) = tensors_with_targets("fit", x, y)?;
                let (xs, ys) = self.check_xy("fit", &x, &y)?;
                let n_all = xs[0].shape()[0];
                let n_train = n_all - (n_all as f64 * config.validation_split) as usize;
                if n_train == 0 {
                    return Err(Error::Input("fit: no training samples".into()));
                }
                let split =
                    (n_train < n_all && validation_data.is_none() && given_batches.is_none())
                        .then(|| -> Result<TensorBatches> {
                            Ok(batches(
                                slice_all(&xs, n_train, n_all)?,
                                slice_all(&ys, n_train, n_all)?,
                                false,
                            ))
                        })
                        .transpose()?;
                let train = batches(
                    slice_all(&xs, 0, n_train)?,
                    slice_all(&ys, 0, n_train)?,
                    config.shuffle,
                );
                (Box::new(train), split)
            }
            Feed::Batches(source) => {
                if config.validation_split > 0.0 {
                    return Err(Error::Config(
                        "fit: validation_split needs tensors (it takes the last samples); with a dataset, give validation data through FitConfig::validation_batches or validation_data".into(),
                    ));
                }
                return self.run_epochs(
                    source,
                    validation(&given_batches, &validation_data, &None),
                    config,
                    true,
                );
            }
        };
        let val = validation(&given_batches, &validation_data, &split);
        self.run_epochs(train.as_ref(), val, config, false)
    }

    fn run_epochs(
        &mut self,
        train: &dyn Batches,
        val: Option<&dyn Batches>,
        mut config: FitConfig,
        check_batches: bool,
    ) -> Result<History> {
        let _mode = batch_loop_mode();
        let mut history = History::default();
        let mut callbacks = std::mem::take(&mut config.callbacks);
        self.stop_training = false;
        self.resume_epoch = None;
        for cb in &mut callbacks {
            cb.on_train_begin(self)?;
        }
        let first = self.resume_epoch.take().unwrap_or(config.initial_epoch);
        for epoch in first..config.epochs {
            if config.verbose != Verbosity::Silent {
                super::progress::print_line(&format!("Epoch {}/{}", epoch + 1, config.epochs));
            }
            for cb in &mut callbacks {
                cb.on_epoch_begin(epoch, self)?;
            }
            self.reset_metrics();
            let mut progress = Progress::new(train.steps(), config.verbose);
            let mut sums = LossSums::default();
            let mut steps = 0;
            for (step, batch) in train.batches(epoch).enumerate() {
                steps = step + 1;
                let (bx, by) = with_targets("fit", batch.map_err(|e| batch_error("fit", e))?)?;
                let (xs, ys) = if check_batches {
                    self.check_xy("fit", &bx, &by)?
                } else {
                    (
                        bx.tensors().into_iter().cloned().collect(),
                        by.tensors().into_iter().cloned().collect(),
                    )
                };
                let (loss, per_output) = self.step(&xs, &ys)?;
                sums.add(loss, &per_output, xs[0].shape()[0]);
                progress.update(step + 1, || self.metric_logs("", sums.mean()));
                if !callbacks.is_empty() {
                    let batch = crate::callbacks::BatchEnd {
                        loss,
                        running: sums.mean(),
                    };
                    for cb in &mut callbacks {
                        cb.on_train_batch_end(step, &batch, self)?;
                    }
                }
            }
            if sums.seen == 0 {
                return Err(Error::Input(
                    "fit: the training data yielded no batches".into(),
                ));
            }
            let mut logs = self.metric_logs("", sums.mean());
            if let Some(v) = val {
                let v = self.evaluate_source(v, true)?;
                logs.extend(v.into_iter().map(|(k, val)| (format!("val_{k}"), val)));
            }
            progress.finish(steps, &logs);
            history.push(&logs);
            for cb in &mut callbacks {
                cb.on_epoch_end(epoch, &logs, self)?;
            }
            if self.stop_training {
                break;
            }
        }
        for cb in &mut callbacks {
            cb.on_train_end(self)?;
        }
        Ok(history)
    }

    /// Evaluation over `data`. The compiled metrics are reset and reused: training's values
    /// for the epoch are already in its logs by then.
    fn evaluate_source(&mut self, data: &dyn Batches, check_batches: bool) -> Result<Logs> {
        let _mode = batch_loop_mode();
        self.compiled_for("evaluate")?;
        self.reset_metrics();
        let mut sums = LossSums::default();
        no_grad(|| -> Result<()> {
            for batch in data.batches(0) {
                let (bx, by) =
                    with_targets("evaluate", batch.map_err(|e| batch_error("evaluate", e))?)?;
                let (xs, ys) = if check_batches {
                    self.check_xy("evaluate", &bx, &by)?
                } else {
                    (
                        bx.tensors().into_iter().cloned().collect(),
                        by.tensors().into_iter().cloned().collect(),
                    )
                };
                let b = self.batch_loss(&xs, &ys, false)?;
                sums.add(
                    b.total.item::<f32>()? as f64,
                    &b.per_output,
                    xs[0].shape()[0],
                );
                let compiled = self.compiled.as_mut().expect("checked above");
                for ((ms, y), p) in compiled.metrics.iter_mut().zip(&ys).zip(&b.predictions) {
                    for m in ms {
                        m.update(y, p)?;
                    }
                }
            }
            Ok(())
        })?;
        if sums.seen == 0 {
            return Err(Error::Input("evaluate: the data yielded no batches".into()));
        }
        Ok(self.metric_logs("", sums.mean()))
    }

    /// The loss and metrics over `data` — `(x, y)` tensors in batches of `batch_size`, or a
    /// source of batches — recording no gradients.
    pub fn evaluate<'a>(&mut self, data: impl Into<Feed<'a>>, batch_size: usize) -> Result<Logs> {
        match data.into() {
            Feed::Tensors { x, y } => {
                let (x, y) = tensors_with_targets("evaluate", x, y)?;
                let (x, y) = self.check_xy("evaluate", &x, &y)?;
                self.evaluate_source(
                    &TensorBatches {
                        x,
                        y,
                        batch_size,
                        shuffle: false,
                        seed: 0,
                    },
                    false,
                )
            }
            Feed::Batches(b) => self.evaluate_source(b, true),
        }
    }

    /// Checks inputs for prediction (the model must be built: prediction runs through `&self`).
    fn predict_inputs(&self, op: &str, x: &Data) -> Result<Vec<Tensor>> {
        let xs = self.align(op, "input", &self.input_names(), x)?;
        for (x, want) in xs.iter().zip(self.input_shapes()) {
            if x.rank() == 0 || !super::fits(&x.shape()[1..], &want) {
                return Err(Error::Input(format!(
                    "{op}: expected input of shape {}, found {:?}",
                    batch_shape(&want),
                    x.shape()
                )));
            }
        }
        Ok(xs)
    }

    /// The outputs of a single-output model for `x` (tensors in batches of `batch_size`, or a
    /// source of input batches), recording no gradients. Safe from many threads at once.
    pub fn predict<'a>(&self, x: impl Into<Feed<'a>>, batch_size: usize) -> Result<Tensor> {
        let mut outs = self.predict_outputs(x, batch_size)?;
        if outs.len() != 1 {
            return Err(Error::Input(format!(
                "predict: the model has {} outputs ({}); use predict_outputs",
                outs.len(),
                self.output_names().join(", ")
            )));
        }
        Ok(outs.remove(0))
    }

    /// The outputs for `x`, one tensor per model output, in output order.
    pub fn predict_outputs<'a>(
        &self,
        x: impl Into<Feed<'a>>,
        batch_size: usize,
    ) -> Result<Vec<Tensor>> {
        self.graph("predict")?;
        let mut batches: Vec<Vec<Tensor>> = Vec::new();
        let _ftz = FlushDenormals::new();
        match x.into() {
            // Targets given with the inputs are not needed to predict (as in Keras).
            Feed::Tensors { x, y: _ } => {
                let xs = self.predict_inputs("predict", &x)?;
                // A large input runs on the pool's threads too; one image is not worth waking them for.
                let numel: usize = xs.iter().map(Tensor::numel).sum();
                let _mode =
                    (numel >= rill_core::backend::cpu::PARALLEL_MIN_ELEMENTS).then(batch_loop_mode);
                let n = xs[0].shape()[0];
                let bs = batch_size.max(1);
                let mut start = 0;
                while start < n {
                    let end = (start + bs).min(n);
                    batches.push(self.predict_on_batch_many(&slice_all(&xs, start, end)?)?);
                    start = end;
                }
                if batches.is_empty() {
                    return Ok(self
                        .output_shapes()
                        .iter()
                        .map(|s| {
                            let mut shape = vec![0];
                            shape.extend(s);
                            Tensor::zeros(&shape, DType::F32)
                        })
                        .collect());
                }
            }
            Feed::Batches(source) => {
                let _mode = batch_loop_mode();
                for batch in source.batches(0) {
                    let x = batch.map_err(|e| batch_error("predict", e))?.x;
                    let xs = self.predict_inputs("predict", &x)?;
                    batches.push(self.predict_on_batch_many(&xs)?);
                }
                if batches.is_empty() {
                    return Err(Error::Input("predict: the data yielded no batches".into()));
                }
            }
        }
        if batches.len() == 1 {
            // One batch (a single prediction, say): nothing to join, nothing to copy.
            return Ok(batches.swap_remove(0));
        }
        let outputs = batches[0].len();
        (0..outputs)
            .map(|o| {
                let parts: Vec<Tensor> = batches.iter().map(|b| b[o].clone()).collect();
                Ok(Tensor::concat(&parts, 0)?)
            })
            .collect()
    }

    fn predict_on_batch_many(&self, xs: &[Tensor]) -> Result<Vec<Tensor>> {
        let inputs = xs.iter().map(model_input).collect::<Result<Vec<_>>>()?;
        no_grad(|| self.call_many(&inputs, false))
    }

    /// The outputs for one batch of each input (one tensor, a list, or by name), one tensor
    /// per model output, without training. Safe from many threads at once.
    pub fn predict_on_batch_outputs(&self, x: impl Into<Data>) -> Result<Vec<Tensor>> {
        let xs = self.predict_inputs("predict_on_batch", &x.into())?;
        self.predict_on_batch_many(&xs)
    }

    /// One gradient step on one batch; returns the loss and metrics of that batch.
    pub fn train_on_batch(&mut self, x: impl Into<Data>, y: impl Into<Data>) -> Result<Logs> {
        let (xs, ys) = self.check_xy("train_on_batch", &x.into(), &y.into())?;
        // Called batch after batch (a custom loop): keep freed buffers for the next, as fit does.
        rill_core::memory::retain_freed_buffers();
        let _ftz = FlushDenormals::new();
        self.reset_metrics();
        let losses = self.step(&xs, &ys)?;
        Ok(self.metric_logs("", losses))
    }

    /// The loss and metrics of one batch, without training.
    pub fn test_on_batch(&mut self, x: impl Into<Data>, y: impl Into<Data>) -> Result<Logs> {
        let x = x.into();
        let n = x
            .tensors()
            .first()
            .and_then(|t| t.shape().first().copied())
            .unwrap_or(0);
        self.evaluate((x, y.into()), n.max(1))
    }

    /// The outputs of a single-output model for one batch, without training.
    pub fn predict_on_batch(&self, x: &Tensor) -> Result<Tensor> {
        let mut out = self.predict_on_batch_outputs(x.clone())?;
        if out.len() != 1 {
            return Err(Error::Input(
                "predict_on_batch: the model has several outputs; use predict_outputs".into(),
            ));
        }
        Ok(out.remove(0))
    }
}

/// The validation source `fit` uses: given batches, else validation data, else the split.
fn validation<'a>(
    given: &'a Option<Box<dyn Batches + Send>>,
    data: &'a Option<TensorBatches>,
    split: &'a Option<TensorBatches>,
) -> Option<&'a dyn Batches> {
    given
        .as_deref()
        .map(|b| b as &dyn Batches)
        .or(data.as_ref().map(|b| b as &dyn Batches))
        .or(split.as_ref().map(|b| b as &dyn Batches))
}
