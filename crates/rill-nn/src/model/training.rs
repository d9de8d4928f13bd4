use super::batches::{Batches, InputBatches, TensorBatches};
use super::fit_config::FitConfig;
use super::history::{History, Logs};
use super::progress::{Progress, Verbosity};
use super::sequential::{Compiled, Sequential};
use crate::error::{batch_shape, shape_of};
use crate::losses::Loss;
use crate::metrics;
use crate::optimizers::Optimizer;
use crate::{Error, Result};
use rill_core::float_mode::FlushDenormalsEverywhere;
use rill_core::{no_grad, DType, FlushDenormals, Tensor};

/// A batch as the layers take it: f32 (a batch of bytes or integers is converted here, one
/// batch at a time, rather than the whole data set up front).
fn model_input(x: &Tensor) -> Result<Tensor> {
    Ok(x.to_dtype(DType::F32)?)
}

/// The floating-point and memory modes of a loop over many batches: subnormals flushed on this
/// thread and the pool's, and freed buffers kept for the next batch (see `rill_core::memory`).
fn batch_loop_mode() -> FlushDenormalsEverywhere {
    rill_core::memory::retain_freed_buffers();
    FlushDenormals::everywhere()
}

/// Samples `[start, end)` of `t` along the batch axis, as a view.
fn rows(t: &Tensor, start: usize, end: usize) -> Result<Tensor> {
    Ok(t.slice(0, start, end)?)
}

impl Sequential {
    /// Sets the optimizer, the loss and the metrics (by Keras name: `"accuracy"` picks sparse,
    /// categorical or binary accuracy from the loss, as Keras does).
    pub fn compile(
        &mut self,
        optimizer: impl Optimizer + 'static,
        loss: impl Loss + 'static,
        metric_names: &[&str],
    ) -> Result<()> {
        let kind = loss.accuracy_kind();
        let metrics = metric_names
            .iter()
            .map(|n| metrics::from_name(n, kind))
            .collect::<Result<Vec<_>>>()?;
        self.compiled = Some(Compiled {
            optimizer: Box::new(optimizer),
            loss: Box::new(loss),
            metrics,
        });
        Ok(())
    }

    /// Checks `x` against the model's input (building it from `x` when unbuilt) and returns it
    /// in its own dtype: a data set of bytes stays bytes (a quarter of the memory of floats);
    /// each batch becomes f32 as it enters the model (`model_input`).
    fn prepare_x(&mut self, op: &str, x: &Tensor) -> Result<Tensor> {
        if x.rank() == 0 {
            return Err(Error::Input(format!(
                "{op}: expected a batch of samples, found a scalar"
            )));
        }
        match &self.input_shape {
            None => self.build(&x.shape()[1..])?,
            Some(s) if s.as_slice() != &x.shape()[1..] => {
                return Err(Error::Input(format!(
                    "{op}: expected input of shape {}, found {} (per-sample shape {:?} instead of {s:?})",
                    batch_shape(s),
                    shape_of(x),
                    &x.shape()[1..]
                )))
            }
            Some(_) => {}
        }
        Ok(x.clone())
    }

    fn check_xy(&mut self, op: &str, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let x = self.prepare_x(op, x)?;
        if y.rank() == 0 || y.shape()[0] != x.shape()[0] {
            return Err(Error::Input(format!(
                "{op}: x and y must have the same number of samples, found {} and {}",
                x.shape()[0],
                y.shape().first().copied().unwrap_or(0)
            )));
        }
        let out = self.output_shape().unwrap_or_default();
        let compiled = self
            .compiled
            .as_ref()
            .ok_or_else(|| Error::Config(format!("{op}: compile the model first")))?;
        compiled
            .loss
            .check_targets(y, &out)
            .map_err(|e| Error::Input(format!("{op}: {e}")))?;
        Ok(x)
    }

    fn compiled(&mut self, op: &str) -> Result<&mut Compiled> {
        self.compiled
            .as_mut()
            .ok_or_else(|| Error::Config(format!("{op}: compile the model first")))
    }

    /// The loss (plus layer penalties) for a batch, with the graph recorded when training.
    fn batch_loss(&mut self, x: &Tensor, y: &Tensor, training: bool) -> Result<(Tensor, Tensor)> {
        let pred = self.call(&model_input(x)?, training)?;
        let mut loss = self
            .compiled
            .as_ref()
            .expect("checked by caller")
            .loss
            .compute(y, &pred)?;
        for layer in &self.layers {
            if let Some(p) = layer.regularization_loss()? {
                loss = loss.add(&p)?;
            }
        }
        Ok((loss, pred))
    }

    /// One gradient step on a prepared batch; returns the batch loss and updates the metrics.
    fn step(&mut self, x: &Tensor, y: &Tensor) -> Result<f64> {
        let (loss, pred) = self.batch_loss(x, y, true)?;
        let grads = loss.backward()?;
        let value = loss.item::<f32>()? as f64;
        let predicted = pred.detach();
        // Drop the graph (the loss and the prediction hold it) before the update, so that the
        // weights are uniquely owned and change in place instead of being copied.
        drop((loss, pred));
        let Sequential {
            layers, compiled, ..
        } = self;
        let compiled = compiled.as_mut().expect("checked by caller");
        {
            let _metrics = rill_core::profile::scope("metrics");
            for m in &mut compiled.metrics {
                m.update(y, &predicted)?;
            }
        }
        let mut variables: Vec<&mut crate::Variable> = layers
            .iter_mut()
            .flat_map(|l| l.variables_mut())
            .filter(|v| v.trainable)
            .collect();
        let _update = rill_core::profile::scope("optimizer");
        compiled.optimizer.apply(&mut variables, &grads)?;
        Ok(value)
    }

    fn metric_logs(&self, prefix: &str, loss: f64) -> Logs {
        let mut logs = Logs::new();
        logs.insert(format!("{prefix}loss"), loss);
        if let Some(c) = &self.compiled {
            for m in &c.metrics {
                logs.insert(format!("{prefix}{}", m.name()), m.result());
            }
        }
        logs
    }

    fn reset_metrics(&mut self) {
        if let Some(c) = &mut self.compiled {
            c.metrics.iter_mut().for_each(|m| m.reset());
        }
    }

    /// Trains for `config.epochs` passes over `(x, y)` and returns the per-epoch history.
    ///
    /// Inputs are checked before any work: sample shape, sample counts, and targets against the
    /// loss. Batches are gathered by index from `x`, which is never copied per epoch.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, mut config: FitConfig) -> Result<History> {
        let x = self.check_xy("fit", x, y)?;
        if config.batch_size == 0 {
            return Err(Error::Config("fit: batch_size must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&config.validation_split) {
            return Err(Error::Config(format!(
                "fit: validation_split must be in [0, 1), found {}",
                config.validation_split
            )));
        }
        let n_all = x.shape()[0];
        let in_order = |x: Tensor, y: Tensor| TensorBatches {
            x,
            y,
            batch_size: config.batch_size,
            shuffle: false,
            seed: 0,
        };
        let (train_x, train_y, val) = match config.validation_data.take() {
            Some((vx, vy)) => {
                let vx = self.check_xy("fit (validation_data)", &vx, &vy)?;
                (x, y.clone(), Some(in_order(vx, vy)))
            }
            None if config.validation_split > 0.0 => {
                let n_train = n_all - (n_all as f64 * config.validation_split) as usize;
                (
                    rows(&x, 0, n_train)?,
                    rows(y, 0, n_train)?,
                    Some(in_order(
                        rows(&x, n_train, n_all)?,
                        rows(y, n_train, n_all)?,
                    )),
                )
            }
            None => (x, y.clone(), None),
        };
        if train_x.shape()[0] == 0 {
            return Err(Error::Input("fit: no training samples".into()));
        }
        let train = TensorBatches {
            x: train_x,
            y: train_y,
            batch_size: config.batch_size,
            shuffle: config.shuffle,
            seed: config.seed,
        };
        self.run_epochs(
            &train,
            val.as_ref().map(|v| v as &dyn Batches),
            config,
            false,
        )
    }

    /// Trains on batches from any [`Batches`] source (e.g. `rill-data`'s `Dataset`), validating
    /// on `validation` after each epoch. Each batch is checked against the model as it arrives.
    pub fn fit_batches(
        &mut self,
        train: &dyn Batches,
        validation: Option<&dyn Batches>,
        config: FitConfig,
    ) -> Result<History> {
        self.run_epochs(train, validation, config, true)
    }

    fn run_epochs(
        &mut self,
        train: &dyn Batches,
        val: Option<&dyn Batches>,
        mut config: FitConfig,
        check_batches: bool,
    ) -> Result<History> {
        self.compiled("fit")?;
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
                println!("Epoch {}/{}", epoch + 1, config.epochs);
            }
            for cb in &mut callbacks {
                cb.on_epoch_begin(epoch, self)?;
            }
            self.reset_metrics();
            let mut progress = Progress::new(train.steps(), config.verbose);
            let (mut loss_sum, mut seen, mut steps) = (0.0, 0usize, 0usize);
            for (step, batch) in train.batches(epoch).enumerate() {
                steps = step + 1;
                let (mut bx, by) = batch?;
                if check_batches {
                    bx = self.check_xy("fit", &bx, &by)?;
                }
                let loss = self.step(&bx, &by)?;
                let count = bx.shape()[0];
                loss_sum += loss * count as f64;
                seen += count;
                let mean_loss = loss_sum / seen as f64;
                progress.update(step + 1, || self.metric_logs("", mean_loss));
                for cb in &mut callbacks {
                    cb.on_batch_end(step, loss, self)?;
                }
            }
            if seen == 0 {
                return Err(Error::Input(
                    "fit: the training data yielded no batches".into(),
                ));
            }
            let mut logs = self.metric_logs("", loss_sum / seen as f64);
            if let Some(v) = val {
                let v = self.evaluate_source(v, check_batches)?;
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

    /// The loss and metrics over every batch of `data`, recording no gradients. Each batch is
    /// checked against the model as it arrives.
    pub fn evaluate_batches(&mut self, data: &dyn Batches) -> Result<Logs> {
        self.evaluate_source(data, true)
    }

    /// Evaluation over `data`; `check_batches` is off for tensors already checked whole.
    fn evaluate_source(&mut self, data: &dyn Batches, check_batches: bool) -> Result<Logs> {
        let _mode = batch_loop_mode();
        // Metrics are shared with training; evaluation keeps its own tallies.
        let kind = self.compiled("evaluate")?.loss.accuracy_kind();
        let names: Vec<String> = self
            .compiled("evaluate")?
            .metrics
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        let mut fresh = names
            .iter()
            .map(|n| metrics::from_name(n, kind))
            .collect::<Result<Vec<_>>>()?;
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        no_grad(|| -> Result<()> {
            for batch in data.batches(0) {
                let (bx, by) = batch?;
                let bx = if check_batches {
                    self.check_xy("evaluate", &bx, &by)?
                } else {
                    bx
                };
                let (loss, pred) = self.batch_loss(&bx, &by, false)?;
                loss_sum += loss.item::<f32>()? as f64 * bx.shape()[0] as f64;
                seen += bx.shape()[0];
                for m in &mut fresh {
                    m.update(&by, &pred)?;
                }
            }
            Ok(())
        })?;
        let mut logs = Logs::new();
        logs.insert("loss".into(), loss_sum / seen.max(1) as f64);
        for m in &fresh {
            logs.insert(m.name().to_string(), m.result());
        }
        Ok(logs)
    }

    /// The loss and metrics on `(x, y)`, in batches, recording no gradients.
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        let x = self.check_xy("evaluate", x, y)?;
        self.evaluate_source(
            &TensorBatches {
                x,
                y: y.clone(),
                batch_size,
                shuffle: false,
                seed: 0,
            },
            false,
        )
    }

    /// The model's outputs for `x`, computed in batches of `batch_size`, recording no gradients.
    pub fn predict(&mut self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        let x = self.prepare_x("predict", x)?;
        let _ftz = FlushDenormals::new();
        // A large input runs on the pool's threads too; one image is not worth waking them for.
        let _mode =
            (x.numel() >= rill_core::backend::cpu::PARALLEL_MIN_ELEMENTS).then(batch_loop_mode);
        let n = x.shape()[0];
        no_grad(|| {
            let mut outs = Vec::with_capacity(n.div_ceil(batch_size.max(1)));
            let mut start = 0;
            while start < n {
                let end = (start + batch_size.max(1)).min(n);
                outs.push(self.call(&model_input(&rows(&x, start, end)?)?, false)?);
                start = end;
            }
            if outs.is_empty() {
                let mut shape = vec![0];
                shape.extend(self.output_shape().unwrap_or_default());
                return Ok(Tensor::zeros(&shape, DType::F32));
            }
            if outs.len() == 1 {
                // One batch (a single prediction, say): nothing to join, nothing to copy.
                return Ok(outs.swap_remove(0));
            }
            Ok(Tensor::concat(&outs, 0)?)
        })
    }

    /// The model's outputs for every batch of `data` (e.g. a `rill-data` `Dataset`), in order,
    /// recording no gradients. Each batch is checked against the model's input shape.
    pub fn predict_batches(&mut self, data: &dyn InputBatches) -> Result<Tensor> {
        let _mode = batch_loop_mode();
        let mut outs = Vec::new();
        for batch in data.input_batches() {
            let x = self.prepare_x("predict", &batch?)?;
            outs.push(no_grad(|| self.call(&model_input(&x)?, false))?);
        }
        if outs.is_empty() {
            return Err(Error::Input("predict: the data yielded no batches".into()));
        }
        Ok(Tensor::concat(&outs, 0)?)
    }

    /// One gradient step on one batch; returns the loss and metrics of that batch.
    pub fn train_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        let x = self.check_xy("train_on_batch", x, y)?;
        let _ftz = FlushDenormals::new();
        self.reset_metrics();
        let loss = self.step(&x, y)?;
        Ok(self.metric_logs("", loss))
    }

    /// The loss and metrics of one batch, without training.
    pub fn test_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        let n = x.shape().first().copied().unwrap_or(0);
        self.evaluate(x, y, n.max(1))
    }

    /// The outputs for one batch, without training.
    pub fn predict_on_batch(&mut self, x: &Tensor) -> Result<Tensor> {
        let x = self.prepare_x("predict_on_batch", x)?;
        no_grad(|| self.call(&model_input(&x)?, false))
    }
}
