//! `Normalization`: features shifted and scaled by a mean and variance learned from the data by
//! `adapt` (or given), inside the model — Keras' `layers.Normalization`, the first layer of the
//! regression and time-series tutorials.
//!
//! Two forms, as in Keras: given (or adapted in Rill) statistics are part of the config; a layer
//! Keras adapted keeps them as three non-trainable weights (`mean`, `variance`, `count`), which
//! Rill reads, keeps and writes back.

use super::{Configurable, KerasArgs, KerasForm, Layer, LayerExample};
use crate::{Error, Result, Variable};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

const KIND: &str = "Normalization";
/// Keras' `backend.epsilon()`: the smallest standard deviation divided by.
const EPSILON: f64 = 1e-7;

/// [`Normalization`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NormalizationConfig {
    /// The axes that keep their own statistics, counted over the whole batch (`-1`: the last;
    /// empty: one mean and variance for everything), as Keras' `axis`.
    #[serde(default = "last_axis")]
    pub axis: Vec<isize>,
    /// The mean per kept position (or one for all), when given or adapted in Rill.
    #[serde(default)]
    pub mean: Option<Vec<f64>>,
    /// The variance, likewise.
    #[serde(default)]
    pub variance: Option<Vec<f64>>,
    /// `x · std + mean` instead: turns normalized values back.
    #[serde(default)]
    pub invert: bool,
    /// The shape of the statistics (the kept axes' sizes) when there are several kept axes —
    /// how Keras' config nests them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics_shape: Option<Vec<usize>>,
}

fn last_axis() -> Vec<isize> {
    vec![-1]
}

impl Default for NormalizationConfig {
    fn default() -> Self {
        NormalizationConfig {
            axis: last_axis(),
            mean: None,
            variance: None,
            invert: false,
            statistics_shape: None,
        }
    }
}

/// `(x − mean) / max(√variance, 1e-7)` per kept position, as Keras' `Normalization`.
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{Layer, Normalization};
/// let x = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 30.0], &[2, 2])?;
/// let mut norm = Normalization::new();
/// norm.adapt(&x)?;
/// assert_eq!(norm.call(&x, false)?.to_vec::<f32>()?, [-1.0, -1.0, 1.0, 1.0]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Normalization {
    config: NormalizationConfig,
    /// Keras' adapted form: mean, variance and count as weights (shaped like the kept axes).
    weights: Option<[Variable; 3]>,
    /// The per-sample input shape the layer was built for.
    built: Option<Vec<usize>>,
}

impl Default for Normalization {
    fn default() -> Self {
        Normalization::new()
    }
}

impl Normalization {
    /// Statistics per feature of the last axis, to be adapted.
    pub fn new() -> Self {
        Normalization {
            config: NormalizationConfig::default(),
            weights: None,
            built: None,
        }
    }
    /// The axes that keep their own statistics (Keras' `axis`; empty for one over everything).
    pub fn axis(mut self, axis: &[isize]) -> Self {
        self.config.axis = axis.to_vec();
        self
    }
    /// Given statistics (one each, or one per kept position).
    pub fn with_statistics(mut self, mean: Vec<f64>, variance: Vec<f64>) -> Self {
        self.config.mean = Some(mean);
        self.config.variance = Some(variance);
        self
    }
    /// Turns normalized values back (`x · std + mean`).
    pub fn invert(mut self, on: bool) -> Self {
        self.config.invert = on;
        self
    }

    /// The kept axes of a per-sample shape, 1-based over the batch (axis 0 is the batch).
    fn kept(&self, sample: &[usize]) -> Result<Vec<usize>> {
        let ndim = sample.len() as isize + 1;
        let mut kept: Vec<usize> = Vec::new();
        for &a in &self.config.axis {
            let d = if a < 0 { a + ndim } else { a };
            if d <= 0 || d >= ndim {
                return Err(Error::Input(format!(
                    "{KIND}: axis {a} is not a feature axis of inputs with per-sample shape {sample:?} (the batch axis keeps no statistics)"
                )));
            }
            if !kept.contains(&(d as usize)) {
                kept.push(d as usize);
            }
        }
        kept.sort_unstable();
        Ok(kept)
    }

    /// The shape mean and variance broadcast to: 1 on the batch and reduced axes.
    fn broadcast_shape(&self, sample: &[usize]) -> Result<Vec<usize>> {
        let kept = self.kept(sample)?;
        Ok(std::iter::once(1)
            .chain((1..=sample.len()).map(|d| if kept.contains(&d) { sample[d - 1] } else { 1 }))
            .collect())
    }

    /// Mean and variance as f32 tensors of the broadcast shape.
    fn statistics(&self, sample: &[usize]) -> Result<(Tensor, Tensor)> {
        let shape = self.broadcast_shape(sample)?;
        let positions: usize = shape.iter().product();
        let as_tensor = |values: Vec<f32>, what: &str| -> Result<Tensor> {
            match values.len() {
                1 => Ok(Tensor::full(&shape, values[0] as f64, DType::F32)),
                n if n == positions => Ok(Tensor::from_vec(values, &shape)?),
                n => Err(Error::Config(format!(
                    "{KIND}: {n} {what} values for inputs whose kept axes hold {positions}"
                ))),
            }
        };
        match (&self.config.mean, &self.config.variance, &self.weights) {
            (Some(m), Some(v), _) => Ok((
                as_tensor(m.iter().map(|&x| x as f32).collect(), "mean")?,
                as_tensor(v.iter().map(|&x| x as f32).collect(), "variance")?,
            )),
            (_, _, Some([m, v, _])) => Ok((
                as_tensor(m.value().to_vec::<f32>()?, "mean")?,
                as_tensor(v.value().to_vec::<f32>()?, "variance")?,
            )),
            _ => Err(Error::Input(format!(
                "{KIND}: the layer has no statistics: adapt it on data first (norm.adapt(&x)), or give mean and variance"
            ))),
        }
    }
}

impl Configurable for Normalization {
    const KIND: &'static str = KIND;
    type Config = NormalizationConfig;
    fn get_config(&self) -> NormalizationConfig {
        self.config.clone()
    }
    fn from_config(config: NormalizationConfig) -> Result<Self> {
        match (&config.mean, &config.variance) {
            (Some(m), Some(v)) if m.len() != v.len() || m.is_empty() => {
                return Err(Error::Config(format!(
                    "{KIND}: mean ({}) and variance ({}) need as many values, at least one",
                    m.len(),
                    v.len()
                )))
            }
            (Some(_), Some(v)) if v.iter().any(|&x| x.is_nan() || x < 0.0 || !x.is_finite()) => {
                return Err(Error::Config(format!(
                    "{KIND}: a variance must be a finite number at least 0"
                )))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::Config(format!(
                    "{KIND}: give both mean and variance, or neither (and adapt)"
                )))
            }
            _ => {}
        }
        Ok(Normalization {
            config,
            weights: None,
            built: None,
        })
    }
    fn examples() -> Vec<LayerExample<NormalizationConfig>> {
        vec![
            LayerExample::new(
                Normalization::new()
                    .with_statistics(vec![0.5, -1.0, 2.0], vec![4.0, 0.25, 1.0])
                    .get_config(),
                &[2, 3],
            ),
            LayerExample::new(
                NormalizationConfig {
                    axis: vec![1, 2],
                    mean: Some(vec![0.5, -1.0, 2.0, 0.0, 1.0, -0.5]),
                    variance: Some(vec![4.0, 0.25, 1.0, 2.0, 0.5, 9.0]),
                    statistics_shape: Some(vec![2, 3]),
                    invert: false,
                },
                &[2, 3],
            ),
            LayerExample::new(
                Normalization::new()
                    .axis(&[])
                    .with_statistics(vec![0.25], vec![2.0])
                    .invert(true)
                    .get_config(),
                &[4],
            ),
        ]
    }
}

impl Layer for Normalization {
    crate::configurable_layer!();
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if self.config.mean.is_some() {
            // Given statistics must fit the kept axes.
            self.statistics(input_shape)?;
        } else if self.built.as_deref() != Some(input_shape) {
            // Keras' adapted form: weights a file fills (count is kept as f32, as the weights
            // file is written; Keras casts it back to its integer).
            let kept: Vec<usize> = self
                .kept(input_shape)?
                .iter()
                .map(|&d| input_shape[d - 1])
                .collect();
            self.weights = Some([
                Variable::fixed("mean", Tensor::zeros(&kept, DType::F32)),
                Variable::fixed("variance", Tensor::ones(&kept, DType::F32)),
                Variable::fixed("count", Tensor::zeros(&[], DType::F32)),
            ]);
        }
        self.built = Some(input_shape.to_vec());
        Ok(())
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.kept(input_shape)?;
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let (mean, variance) = self.statistics(&x.shape()[1.min(x.rank())..])?;
        let std = variance.sqrt()?.maximum(&Tensor::scalar(EPSILON as f32))?;
        let x = x.to_dtype(DType::F32)?;
        Ok(if self.config.invert {
            x.mul(&std)?.add(&mean)?
        } else {
            x.sub(&mean)?.div(&std)?
        })
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.iter().flatten().cloned().collect()
    }
    fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        super::pass_mask(masks)
    }
    /// The mean and (population) variance over every axis but the kept ones, into the config.
    fn adapt(&mut self, data: &Tensor) -> Result<()> {
        if data.dtype() == DType::Str || data.rank() == 0 || data.shape()[0] == 0 {
            return Err(Error::Input(format!(
                "{KIND}: adapt takes a batch of numbers, found a {} tensor of shape {:?}",
                data.dtype(),
                data.shape()
            )));
        }
        let sample = &data.shape()[1..];
        let kept = self.kept(sample)?;
        let reduce: Vec<isize> = (0..data.rank())
            .filter(|d| !kept.contains(d))
            .map(|d| d as isize)
            .collect();
        let x = data.to_dtype(DType::F64)?;
        let mean = x.mean(&reduce, true)?;
        let variance = x.sub(&mean)?.square()?.mean(&reduce, false)?;
        self.config.mean = Some(mean.to_vec::<f64>()?);
        self.config.variance = Some(variance.to_vec::<f64>()?);
        self.config.statistics_shape = (kept.len() > 1).then(|| variance.shape().to_vec());
        self.weights = None;
        Ok(())
    }
}

/// ONNX: `Sub` and `Div` (or `Mul` and `Add` inverted) by constants.
impl super::OnnxForm for Normalization {
    fn to_onnx(
        c: &NormalizationConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        let layer = Normalization::from_config(c.clone())?;
        let shape = layer.broadcast_shape(l.input_shape)?;
        let (mean, variance) = match (&c.mean, &l.weights[..]) {
            (Some(_), _) => layer.statistics(l.input_shape)?,
            (None, [m, v, ..]) => (m.reshape(&shape)?, v.reshape(&shape)?),
            (None, _) => return Err(Error::not_built(KIND)),
        };
        let std = variance.sqrt()?.maximum(&Tensor::scalar(EPSILON as f32))?;
        let mean = g.weight(&l.part("mean"), &mean)?;
        let std = g.weight(&l.part("std"), &std)?;
        if c.invert {
            let y = g.node("Mul", vec![l.input.clone(), std], &l.part("scaled"), vec![]);
            return Ok(g.node("Add", vec![y, mean], l.name, vec![]));
        }
        let y = g.node(
            "Sub",
            vec![l.input.clone(), mean],
            &l.part("centred"),
            vec![],
        );
        Ok(g.node("Div", vec![y, std], l.name, vec![]))
    }
}

/// Keras: `keras.layers.Normalization`.
impl KerasForm for Normalization {
    fn to_keras(c: &NormalizationConfig) -> serde_json::Value {
        // Keras takes one value as a number, and statistics nested as its kept axes are.
        let keras = |v: &Option<Vec<f64>>| match v.as_deref() {
            None => serde_json::Value::Null,
            Some([one]) => serde_json::json!(one),
            Some(values) => nest(
                values,
                c.statistics_shape.as_deref().unwrap_or(&[values.len()]),
            ),
        };
        serde_json::json!({"axis": c.axis, "mean": keras(&c.mean), "variance": keras(&c.variance), "invert": c.invert})
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<NormalizationConfig> {
        let axis = match a.get("axis") {
            serde_json::Value::Null => Vec::new(),
            v => match (v.as_i64(), serde_json::from_value::<Vec<isize>>(v.clone())) {
                (Some(n), _) => vec![n as isize],
                (None, Ok(list)) => list,
                (None, Err(_)) => return Err(a.bad("axis", v, "an integer or a list of integers")),
            },
        };
        let numbers = |v: &serde_json::Value| -> Option<Vec<f64>> {
            match v {
                serde_json::Value::Number(n) => n.as_f64().map(|x| vec![x]),
                serde_json::Value::Array(_) => {
                    let flat: Vec<f64> = flatten(v);
                    Some(flat)
                }
                _ => None,
            }
        };
        let mean_value = a.get("mean");
        let (mean, variance) = (numbers(mean_value), numbers(a.get("variance")));
        let shape = nested_shape(mean_value);
        Ok(NormalizationConfig {
            axis,
            mean,
            variance,
            invert: a.value("invert", false)?,
            statistics_shape: (shape.len() > 1).then_some(shape),
        })
    }
}

/// `values` as JSON lists nested to `shape`.
fn nest(values: &[f64], shape: &[usize]) -> serde_json::Value {
    match shape {
        [] | [_] => serde_json::json!(values),
        [_, rest @ ..] => {
            let inner: usize = rest.iter().product();
            serde_json::Value::Array(values.chunks(inner.max(1)).map(|c| nest(c, rest)).collect())
        }
    }
}

/// The sizes of a nested JSON list (along its first elements).
fn nested_shape(v: &serde_json::Value) -> Vec<usize> {
    match v {
        serde_json::Value::Array(items) => std::iter::once(items.len())
            .chain(items.first().map(nested_shape).unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    }
}

/// The numbers of a nested JSON list, in order.
fn flatten(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => other.as_f64().into_iter().collect(),
    }
}
