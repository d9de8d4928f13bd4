//! `compile`: the optimizer, a loss per output (with weights) and metrics per output, named as
//! Keras names them in logs (`loss`, `accuracy`; with several outputs `dense_1_loss`,
//! `dense_1_accuracy`, …).

use super::Model;
use crate::losses::Loss;
use crate::metrics::{self, Metric};
use crate::optimizers::Optimizer;
use crate::{Error, Result};
use std::sync::Arc;

/// What `compile` sets: how the model learns and what it reports, per output.
pub(crate) struct Compiled {
    pub optimizer: Box<dyn Optimizer>,
    /// One loss per output, in output order.
    /// One per output; one loss object serves every output it was given for (losses keep no
    /// state).
    pub losses: Vec<Arc<dyn Loss>>,
    /// The weight of each output's loss in the total.
    pub loss_weights: Vec<f64>,
    /// The metrics of each output, in output order.
    pub metrics: Vec<Vec<Box<dyn Metric>>>,
}

/// The losses of a model: one for every output, or one per named output, with optional weights
/// (Keras' `loss=` and `loss_weights=`).
///
/// ```
/// use rill_nn::prelude::*;
/// let losses = Losses::new()
///     .output("class", SparseCategoricalCrossentropy::from_logits())
///     .output("score", MeanSquaredError::default())
///     .weight("score", 0.5);
/// # let _ = losses;
/// ```
#[derive(Default)]
pub struct Losses {
    all: Option<Box<dyn Loss>>,
    per_output: Vec<(String, Box<dyn Loss>)>,
    weights: Vec<(String, f64)>,
}

impl Losses {
    /// No losses yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// The loss of the output called `name`.
    pub fn output(mut self, name: &str, loss: impl Loss + 'static) -> Self {
        self.per_output.push((name.to_string(), Box::new(loss)));
        self
    }
    /// One boxed loss for every output (a loss chosen at run time, e.g. from a config).
    pub fn every_output(mut self, loss: Box<dyn Loss>) -> Self {
        self.all = Some(loss);
        self
    }
    /// [`Losses::output`] with a boxed loss.
    pub fn output_boxed(mut self, name: &str, loss: Box<dyn Loss>) -> Self {
        self.per_output.push((name.to_string(), loss));
        self
    }
    /// Weighs the loss of output `name` by `w` in the total (1 unless set).
    pub fn weight(mut self, name: &str, w: f64) -> Self {
        self.weights.push((name.to_string(), w));
        self
    }
}

impl<L: Loss + 'static> From<L> for Losses {
    fn from(loss: L) -> Self {
        Losses {
            all: Some(Box::new(loss)),
            ..Default::default()
        }
    }
}

/// A metric given to `compile`: a Keras name or an object (a user's own [`Metric`]).
pub enum MetricSpec {
    /// A built-in metric by Keras name (`"accuracy"` picks the kind from the loss).
    Name(String),
    /// A metric object.
    Object(Box<dyn Metric>),
}

/// The metrics of a model: the same names for every output, or per named output; names or
/// objects (Keras' `metrics=`).
#[derive(Default)]
pub struct Metrics {
    all: Vec<String>,
    per_output: Vec<(String, MetricSpec)>,
    objects: Vec<Box<dyn Metric>>,
}

impl Metrics {
    /// No metrics.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds the built-in metric `name` to the output called `output`.
    pub fn output(mut self, output: &str, name: &str) -> Self {
        self.per_output
            .push((output.to_string(), MetricSpec::Name(name.to_string())));
        self
    }
    /// Adds a metric object to the output called `output`.
    pub fn output_object(mut self, output: &str, metric: impl Metric + 'static) -> Self {
        self.per_output
            .push((output.to_string(), MetricSpec::Object(Box::new(metric))));
        self
    }
    /// Adds a metric object to a single-output model.
    pub fn object(mut self, metric: impl Metric + 'static) -> Self {
        self.objects.push(Box::new(metric));
        self
    }
}

impl<const N: usize> From<&[&str; N]> for Metrics {
    fn from(names: &[&str; N]) -> Self {
        Metrics::from(&names[..])
    }
}
impl From<&[&str]> for Metrics {
    fn from(names: &[&str]) -> Self {
        Metrics {
            all: names.iter().map(|n| n.to_string()).collect(),
            ..Default::default()
        }
    }
}
impl From<Vec<Box<dyn Metric>>> for Metrics {
    fn from(objects: Vec<Box<dyn Metric>>) -> Self {
        Metrics {
            objects,
            ..Default::default()
        }
    }
}

impl Model {
    /// Sets the optimizer, the loss(es) and the metrics. A single loss serves every output;
    /// [`Losses`] gives each output its own, with weights. Metrics are Keras names (`"accuracy"`
    /// picks sparse, categorical or binary accuracy from the loss) or [`Metrics`] with objects
    /// and per-output lists.
    pub fn compile(
        &mut self,
        optimizer: impl Optimizer + 'static,
        loss: impl Into<Losses>,
        metrics: impl Into<Metrics>,
    ) -> Result<()> {
        self.compile_boxed(Box::new(optimizer), loss.into(), metrics.into())
    }

    /// [`Model::compile`] with a boxed optimizer.
    pub fn compile_boxed(
        &mut self,
        optimizer: Box<dyn Optimizer>,
        loss: Losses,
        metrics: Metrics,
    ) -> Result<()> {
        // An unbuilt stack has one output; its name is known once built.
        let names = if self.is_built() {
            self.output_names()
        } else {
            vec![String::new()]
        };
        let unknown = |what: &str, n: &str| {
            Error::Config(format!(
                "compile: {what} names output '{n}', but the model's outputs are {}",
                names.join(", ")
            ))
        };
        for (n, _) in &loss.per_output {
            if !names.contains(n) {
                return Err(unknown("a loss", n));
            }
        }
        let all: Option<Arc<dyn Loss>> = loss.all.map(Arc::from);
        let per_output: Vec<(String, Arc<dyn Loss>)> = loss
            .per_output
            .into_iter()
            .map(|(n, l)| (n, Arc::from(l)))
            .collect();
        let mut losses = Vec::with_capacity(names.len());
        for name in &names {
            let own = per_output.iter().find(|(n, _)| n == name);
            losses.push(match (own, &all) {
                (Some((_, l)), _) => l.clone(),
                (None, Some(all)) => all.clone(),
                (None, None) => {
                    return Err(Error::Config(format!(
                        "compile: no loss for output '{name}'"
                    )))
                }
            });
        }
        let mut loss_weights = vec![1.0; names.len()];
        for (n, w) in &loss.weights {
            let i = names
                .iter()
                .position(|m| m == n)
                .ok_or_else(|| unknown("a loss weight", n))?;
            loss_weights[i] = *w;
        }
        let mut per_output = losses
            .iter()
            .map(|l| {
                metrics
                    .all
                    .iter()
                    .map(|n| metrics::from_name(n, l.accuracy_kind()))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let Metrics {
            per_output: named,
            objects,
            ..
        } = metrics;
        for (n, spec) in named {
            let i = names
                .iter()
                .position(|m| *m == n)
                .ok_or_else(|| unknown("a metric", &n))?;
            per_output[i].push(match spec {
                MetricSpec::Name(m) => metrics::from_name(&m, losses[i].accuracy_kind())?,
                MetricSpec::Object(o) => o,
            });
        }
        if !objects.is_empty() {
            if names.len() != 1 {
                return Err(Error::Config(
                    "compile: metric objects for a model with several outputs go to one output each (Metrics::output_object)".into(),
                ));
            }
            per_output[0].extend(objects);
        }
        self.compiled = Some(Compiled {
            optimizer,
            losses,
            loss_weights,
            metrics: per_output,
        });
        Ok(())
    }

    /// The compiled state, or an error saying to compile first.
    pub(crate) fn compiled_for(&mut self, op: &str) -> Result<&mut Compiled> {
        self.compiled.as_mut().ok_or_else(|| {
            Error::Config(format!(
                "{op}: compile the model first (model.compile(optimizer, loss, metrics))"
            ))
        })
    }

    /// The log name of a value of output `i`: `name` alone for a single-output model, else
    /// `<output>_<name>`, as Keras writes them.
    pub(crate) fn log_name(&self, output: usize, name: &str) -> String {
        let names = self.output_names();
        if names.len() <= 1 {
            name.to_string()
        } else {
            format!("{}_{name}", names[output])
        }
    }
}
