use super::{Configurable, Layer};
use crate::{Error, Initializer, Result, Variable};
use rill_core::{no_grad, Tensor};
use serde::{Deserialize, Serialize};

/// [`BatchNormalization`]'s arguments.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BatchNormalizationConfig {
    /// The moving averages' momentum.
    pub momentum: f64,
    /// Added to the variance.
    pub epsilon: f64,
}

/// The four variables, once built.
#[derive(Debug)]
struct Weights {
    gamma: Variable,
    beta: Variable,
    moving_mean: Variable,
    moving_variance: Variable,
}

/// Normalises each channel (the last axis) with the batch's mean and variance in training, and
/// with moving averages of them in inference — Keras' `BatchNormalization` (momentum 0.99,
/// epsilon 1e-3, learned scale γ and offset β). As in Keras, a frozen BatchNormalization
/// (`set_trainable(false)`) runs in inference mode, so fine-tuning keeps its statistics.
#[derive(Debug)]
pub struct BatchNormalization {
    config: BatchNormalizationConfig,
    weights: Option<Weights>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            config: BatchNormalizationConfig {
                momentum: 0.99,
                epsilon: 1e-3,
            },
            weights: None,
        }
    }
}

impl BatchNormalization {
    /// Batch normalization with Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the moving-average momentum.
    pub fn momentum(mut self, m: f64) -> Self {
        self.config.momentum = m;
        self
    }
    /// Sets the variance epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.config.epsilon = e;
        self
    }

    fn built(&self) -> Result<&Weights> {
        self.weights
            .as_ref()
            .ok_or_else(|| Error::not_built(<Self as Configurable>::KIND))
    }

    /// Training: normalizes with the batch's statistics (then the ReLU if `relu`) and moves
    /// the moving averages towards them.
    /// This layer's output passed through `max(·, 0)`, computed together in training (the
    /// normalized values then never go to memory); `None` where the two run apart (inference,
    /// frozen), for the model's graph rewrite (`model/fusion.rs`).
    pub(crate) fn call_then_relu(&self, x: &Tensor, training: bool) -> Option<Result<Tensor>> {
        let w = self.weights.as_ref()?;
        (training && w.gamma.is_trainable()).then(|| self.normalize_batch(w, x, true))
    }

    fn normalize_batch(&self, w: &Weights, x: &Tensor, relu: bool) -> Result<Tensor> {
        let (gamma, beta) = (w.gamma.value(), w.beta.value());
        let epsilon = self.config.epsilon;
        let (y, mean, variance) = if relu {
            x.batch_norm_relu(&gamma, &beta, epsilon)?
        } else {
            x.batch_norm(&gamma, &beta, epsilon)?
        };
        // The moving statistics are state, not part of the gradient.
        let m = self.config.momentum;
        no_grad(|| -> Result<()> {
            let blend = |old: &Variable, batch: &Tensor| -> Result<()> {
                let new = old
                    .value()
                    .mul_scalar(m)?
                    .add(&batch.mul_scalar(1.0 - m)?)?;
                old.replace(new);
                Ok(())
            };
            blend(&w.moving_mean, &mean)?;
            blend(&w.moving_variance, &variance)
        })?;
        Ok(y)
    }
}

impl Configurable for BatchNormalization {
    const KIND: &'static str = "BatchNormalization";
    type Config = BatchNormalizationConfig;
    fn get_config(&self) -> BatchNormalizationConfig {
        self.config
    }
    fn from_config(config: BatchNormalizationConfig) -> Result<Self> {
        Ok(BatchNormalization {
            config,
            weights: None,
        })
    }
    fn examples() -> Vec<super::LayerExample<BatchNormalizationConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(BatchNormalization::new().get_config(), &[5]),
            E::new(
                BatchNormalization::new()
                    .epsilon(0.01)
                    .momentum(0.9)
                    .get_config(),
                &[4, 4, 3],
            ),
        ]
    }
}

impl Layer for BatchNormalization {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.is_empty() {
            return Err(Error::Config(
                "BatchNormalization needs inputs with a channel axis".into(),
            ));
        }
        Ok(input_shape.to_vec())
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let c = input_shape[input_shape.len() - 1];
        self.weights = Some(Weights {
            gamma: Variable::trainable("gamma", Initializer::Ones.init(&[c])?)?,
            beta: Variable::trainable("beta", Initializer::Zeros.init(&[c])?)?,
            moving_mean: Variable::fixed("moving_mean", Initializer::Zeros.init(&[c])?),
            moving_variance: Variable::fixed("moving_variance", Initializer::Ones.init(&[c])?),
        });
        Ok(())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let w = self.built()?;
        if training && w.gamma.is_trainable() {
            return self.normalize_batch(w, x, false);
        }
        // Inference: one scale and one shift per channel, folded from the moving statistics.
        let (gamma, beta) = (w.gamma.value(), w.beta.value());
        let scale = gamma.div(
            &w.moving_variance
                .value()
                .add_scalar(self.config.epsilon)?
                .sqrt()?,
        )?;
        let shift = beta.sub(&w.moving_mean.value().mul(&scale)?)?;
        Ok(x.mul(&scale)?.add(&shift)?)
    }
    fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        // The steps stay where they are: their mask with them.
        super::pass_mask(masks)
    }
    fn variables(&self) -> Vec<Variable> {
        match &self.weights {
            Some(w) => vec![
                w.gamma.clone(),
                w.beta.clone(),
                w.moving_mean.clone(),
                w.moving_variance.clone(),
            ],
            None => Vec::new(),
        }
    }
}

/// ONNX: `BatchNormalization` over axis 1, so the channels (Rill's last axis) go there and
/// back: directly for (batch, features), through the shared channels-first form for images.
impl super::OnnxForm for BatchNormalization {
    fn to_onnx(
        c: &BatchNormalizationConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        use super::OnnxAttr::{Float, Ints};
        let mut inputs = vec![];
        for (i, n) in ["gamma", "beta", "moving_mean", "moving_variance"]
            .iter()
            .enumerate()
        {
            inputs.push(g.weight(&l.part(n), l.weight(i)?)?);
        }
        let rank = l.input_shape.len() + 1;
        let attrs = vec![Float("epsilon", c.epsilon as f32)];
        Ok(match rank {
            2 => {
                inputs.insert(0, l.input.clone());
                g.node("BatchNormalization", inputs, l.name, attrs)
            }
            4 => {
                inputs.insert(0, g.channels_first(&l.input));
                let y = g.node("BatchNormalization", inputs, &l.part("nchw"), attrs);
                g.channels_last(y, l.name)
            }
            _ => {
                let r = rank as i64;
                let to: Vec<i64> = [0, r - 1].into_iter().chain(1..r - 1).collect();
                let back: Vec<i64> = std::iter::once(0).chain(2..r).chain([1]).collect();
                let t = g.node(
                    "Transpose",
                    vec![l.input.clone()],
                    &l.part("channels_first"),
                    vec![Ints("perm", to)],
                );
                inputs.insert(0, t);
                let y = g.node("BatchNormalization", inputs, &l.part("normalized"), attrs);
                g.node("Transpose", vec![y], l.name, vec![Ints("perm", back)])
            }
        })
    }
}

/// Keras: `keras.layers.BatchNormalization` over the last axis, with beta and gamma.
impl super::KerasForm for BatchNormalization {
    fn to_keras(c: &BatchNormalizationConfig) -> serde_json::Value {
        serde_json::json!({"axis": -1, "momentum": c.momentum, "epsilon": c.epsilon, "center": true, "scale": true})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, rank: usize) -> Result<BatchNormalizationConfig> {
        use serde_json::json;
        a.last_axis("axis", rank)?;
        a.expect(
            "center",
            &[json!(true)],
            "Rill's BatchNormalization has a beta",
        )?;
        a.expect(
            "scale",
            &[json!(true)],
            "Rill's BatchNormalization has a gamma",
        )?;
        Ok(BatchNormalizationConfig {
            momentum: a.number("momentum", Some(0.99))?,
            epsilon: a.number("epsilon", Some(1e-3))?,
        })
    }
}
