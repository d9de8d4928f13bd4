//! `Attention`: dot-product (Luong) or additive (Bahdanau, `score_mode="concat"`) attention
//! of a query sequence over a value sequence, as Keras' `layers.Attention` — inputs a list
//! `[query, value]` or `[query, value, key]`, an optional learned scale, a causal mask and
//! dropout on the attention weights.

use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Result, Variable};
use rill_core::{random::with_global, DType, Generator, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Mutex;

/// How a query step and a key step are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreMode {
    /// `q · k` (times the scale).
    #[default]
    Dot,
    /// `w · Σ tanh(scale · (q + k))` over the features.
    Concat,
}

/// [`Attention`]'s arguments.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AttentionConfig {
    /// Learn a scalar scale of the scores (starting at one).
    #[serde(default)]
    pub use_scale: bool,
    /// How the scores are computed.
    #[serde(default)]
    pub score_mode: ScoreMode,
    /// Fraction of attention weights dropped while training.
    #[serde(default)]
    pub dropout: f64,
    /// Step i attends to steps up to i only (Keras' `use_causal_mask` call argument).
    #[serde(default)]
    pub use_causal_mask: bool,
}

/// Attention of a query sequence over a value sequence (keys: the values, or a third input).
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::Attention;
/// let mut b = FunctionalBuilder::new();
/// let (q, v) = (b.input(&[4, 8]), b.input(&[6, 8]));
/// let y = b.merge(Attention::new(), &[q, v])?;
/// assert_eq!(b.build(&[q, v], &[y])?.output_shape(), Some(vec![4, 8]));
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Attention {
    config: AttentionConfig,
    /// The scale (with `use_scale`), then the concat score's weight (with `concat`).
    weights: Vec<Variable>,
    rng: Mutex<Option<Generator>>,
}

impl Default for Attention {
    fn default() -> Self {
        Attention::new()
    }
}

impl Attention {
    /// Dot-product attention without a scale, as Keras' default.
    pub fn new() -> Self {
        Attention {
            config: AttentionConfig {
                use_scale: false,
                score_mode: ScoreMode::Dot,
                dropout: 0.0,
                use_causal_mask: false,
            },
            weights: Vec::new(),
            rng: Mutex::new(None),
        }
    }
    /// Learns a scale of the scores.
    pub fn use_scale(mut self, on: bool) -> Self {
        self.config.use_scale = on;
        self
    }
    /// Sets how the scores are computed.
    pub fn score_mode(mut self, mode: ScoreMode) -> Self {
        self.config.score_mode = mode;
        self
    }
    /// Step i attends to steps up to i only.
    pub fn use_causal_mask(mut self, on: bool) -> Self {
        self.config.use_causal_mask = on;
        self
    }
    /// Drops this fraction of the attention weights while training.
    pub fn dropout(mut self, rate: f64) -> Self {
        self.config.dropout = rate;
        self
    }

    fn scale(&self) -> Option<Tensor> {
        self.config
            .use_scale
            .then(|| self.weights.first().map(Variable::value))
            .flatten()
    }
    fn concat_weight(&self) -> Option<Tensor> {
        match self.config.score_mode {
            ScoreMode::Concat => self.weights.last().map(Variable::value),
            ScoreMode::Dot => None,
        }
    }

    fn attend(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        let (query, value, key) = match inputs {
            [q, v] => (q, v, v),
            [q, v, k] => (q, v, k),
            _ => return Err(inputs_error(inputs.len())),
        };
        let c = &self.config;
        let scores = match c.score_mode {
            ScoreMode::Dot => {
                let s = query.matmul(&key.transpose(-2, -1)?)?;
                match self.scale() {
                    Some(scale) => s.mul(&scale)?,
                    None => s,
                }
            }
            ScoreMode::Concat => {
                let w = self
                    .concat_weight()
                    .ok_or_else(|| Error::not_built(Self::KIND))?;
                let mut sum = query.unsqueeze(2)?.add(&key.unsqueeze(1)?)?;
                if let Some(scale) = self.scale() {
                    sum = sum.mul(&scale)?;
                }
                sum.tanh()?.sum(&[-1], false)?.mul(&w)?
            }
        };
        let weights = attention_weights(
            Self::KIND,
            scores,
            c.use_causal_mask,
            c.dropout,
            &self.rng,
            training,
        )?;
        Ok(weights.matmul(value)?)
    }
}

fn inputs_error(n: usize) -> Error {
    Error::Config(format!(
        "Attention takes [query, value] or [query, value, key]; found {n} inputs"
    ))
}

/// Attention weights from scores (…, query steps, key steps), as `Attention` and
/// `MultiHeadAttention` both make them: the causal mask added when asked, a softmax over the
/// keys, and while training `dropout` of them dropped (the rest scaled up) with `rng`'s draws.
pub(crate) fn attention_weights(
    kind: &str,
    scores: Tensor,
    causal: bool,
    dropout: f64,
    rng: &Mutex<Option<Generator>>,
    training: bool,
) -> Result<Tensor> {
    let mut scores = scores;
    if causal {
        let r = scores.rank();
        let (tq, tk) = (scores.shape()[r - 2], scores.shape()[r - 1]);
        scores = scores.add(&causal_bias(tq, tk)?.to_dtype(scores.dtype())?)?;
    }
    let weights = scores.softmax(-1)?;
    if !training || dropout == 0.0 {
        return Ok(weights);
    }
    let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
    let rng = rng.as_mut().ok_or_else(|| Error::not_built(kind))?;
    let keep = rng
        .uniform(weights.shape(), 0.0, 1.0, DType::F32)?
        .ge(&Tensor::scalar(dropout as f32))?
        .to_dtype(weights.dtype())?
        .mul_scalar(1.0 / (1.0 - dropout))?;
    Ok(weights.mul(&keep)?)
}

/// (query steps, key steps): 0 where a query step may see a key step (at or before it), −1e9
/// elsewhere, added to the scores before the softmax as Keras does.
pub(crate) fn causal_bias(tq: usize, tk: usize) -> Result<Tensor> {
    let values: Vec<f32> = (0..tq * tk)
        .map(|i| if i % tk <= i / tk { 0.0 } else { -1e9 })
        .collect();
    Ok(Tensor::from_vec(values, &[tq, tk])?)
}

impl Configurable for Attention {
    const KIND: &'static str = "Attention";
    type Config = AttentionConfig;
    fn get_config(&self) -> AttentionConfig {
        self.config
    }
    fn from_config(config: AttentionConfig) -> Result<Self> {
        if !(0.0..1.0).contains(&config.dropout) {
            return Err(Error::Config(format!(
                "Attention: dropout must be in [0, 1), found {}",
                config.dropout
            )));
        }
        Ok(Attention {
            config,
            ..Attention::new()
        })
    }
    fn examples() -> Vec<super::LayerExample<AttentionConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(Attention::new().get_config(), &[4, 3]).inputs(2),
            E::new(
                Attention::new()
                    .use_scale(true)
                    .use_causal_mask(true)
                    .dropout(0.2)
                    .get_config(),
                &[5, 2],
            )
            .inputs(3),
            E::new(
                Attention::new()
                    .score_mode(ScoreMode::Concat)
                    .use_scale(true)
                    .get_config(),
                &[3, 4],
            )
            .inputs(2),
        ]
    }
}

impl Layer for Attention {
    crate::configurable_layer!();
    fn compute_output_shape(&self, _input_shape: &[usize]) -> Result<Vec<usize>> {
        Err(Error::Config(
            "Attention takes [query, value] (or [query, value, key]): apply it with FunctionalBuilder::merge".into(),
        ))
    }
    fn output_shape_for(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let ok = |q: &[usize], v: &[usize], k: &[usize]| {
            q.len() == 2 && v.len() == 2 && k.len() == 2 && q[1] == k[1] && k[0] == v[0]
        };
        match shapes {
            [q, v] if ok(q, v, v) => Ok(vec![q[0], v[1]]),
            [q, v, k] if ok(q, v, k) => Ok(vec![q[0], v[1]]),
            _ => Err(Error::Config(format!(
                "Attention takes (steps, features) query, value and key, the query as wide as the key and the key as long as the value; found {}",
                shapes.iter().map(|s| crate::batch_shape(s)).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
    fn build_for(&mut self, shapes: &[Vec<usize>]) -> Result<()> {
        self.output_shape_for(shapes)?;
        self.weights.clear();
        if self.config.use_scale {
            self.weights
                .push(Variable::trainable("scale", Tensor::ones(&[], DType::F32))?);
        }
        if self.config.score_mode == ScoreMode::Concat {
            self.weights.push(Variable::trainable(
                "concat_score_weight",
                Tensor::ones(&[], DType::F32),
            )?);
        }
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Generator::new(with_global(|g| g.next_seed())));
        Ok(())
    }
    fn call(&self, _x: &Tensor, _training: bool) -> Result<Tensor> {
        Err(inputs_error(1))
    }
    fn call_on(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        self.attend(inputs, training)
    }
    fn call_masked(&self, _inputs: &[Tensor], _mask: &Tensor, _training: bool) -> Result<Tensor> {
        Err(Error::Config(
            "Attention does not take masks yet (from Embedding(mask_zero) or Masking): Keras would attend to the real steps only".into(),
        ))
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.clone()
    }
}

/// ONNX: the scores by `MatMul` (dot) or `Tanh` of the broadcast sum, averaged over the
/// features and scaled (concat), the causal mask as a constant, `Softmax`, then `MatMul` by
/// the values.
impl OnnxForm for Attention {
    fn to_onnx(c: &AttentionConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        use super::OnnxAttr::{Int, Ints};
        let (q, v) = (l.inputs[0].clone(), l.inputs[1].clone());
        let k = l.inputs.get(2).cloned().unwrap_or_else(|| v.clone());
        let scale = match c.use_scale {
            true => Some(g.weight(&l.part("scale"), l.weight(0)?)?),
            false => None,
        };
        let mut scores = match c.score_mode {
            ScoreMode::Dot => {
                let kt = g.node(
                    "Transpose",
                    vec![k],
                    &l.part("keys_t"),
                    vec![Ints("perm", vec![0, 2, 1])],
                );
                let s = g.node("MatMul", vec![q, kt], &l.part("dot"), vec![]);
                match scale {
                    Some(scale) => g.node("Mul", vec![s, scale], &l.part("scaled"), vec![]),
                    None => s,
                }
            }
            ScoreMode::Concat => {
                let (two, one) = (
                    g.int64s(&l.part("query_axis"), &[2]),
                    g.int64s(&l.part("key_axis"), &[1]),
                );
                let qe = g.node("Unsqueeze", vec![q, two], &l.part("query_by_key"), vec![]);
                let ke = g.node("Unsqueeze", vec![k, one], &l.part("key_by_query"), vec![]);
                let mut sum = g.node("Add", vec![qe, ke], &l.part("sum"), vec![]);
                if let Some(scale) = scale {
                    sum = g.node("Mul", vec![sum, scale], &l.part("scaled_sum"), vec![]);
                }
                let t = g.node("Tanh", vec![sum], &l.part("tanh"), vec![]);
                // Σ over the features = their mean times their count (ReduceMean imports back).
                let mean = g.node(
                    "ReduceMean",
                    vec![t],
                    &l.part("mean"),
                    vec![Ints("axes", vec![3]), Int("keepdims", 0)],
                );
                let features = l.input_shape[1] as f32;
                let w = l
                    .weight(usize::from(c.use_scale))?
                    .mul_scalar(features as f64)?;
                let w = g.weight(&l.part("concat_score_weight"), &w)?;
                g.node("Mul", vec![mean, w], &l.part("concat_scores"), vec![])
            }
        };
        if c.use_causal_mask {
            let tq = l.input_shape[0];
            let tk = l.input_shapes.get(1).map_or(tq, |s| s[0]);
            let bias = g.weight(&l.part("causal_mask"), &causal_bias(tq, tk)?)?;
            scores = g.node("Add", vec![scores, bias], &l.part("masked_scores"), vec![]);
        }
        let weights = g.node(
            "Softmax",
            vec![scores],
            &l.part("weights"),
            vec![Int("axis", -1)],
        );
        Ok(g.node("MatMul", vec![weights, v], l.name, vec![]))
    }
}

/// Keras: `keras.layers.Attention`, called on a list; `use_causal_mask` is its call argument.
impl KerasForm for Attention {
    const KERAS_CALL_ARGUMENTS: &'static [&'static str] = &["use_causal_mask"];
    fn to_keras(c: &AttentionConfig) -> Value {
        json!({"use_scale": c.use_scale, "score_mode": c.score_mode, "dropout": c.dropout, "use_causal_mask": c.use_causal_mask})
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<AttentionConfig> {
        Ok(AttentionConfig {
            use_scale: a.value("use_scale", false)?,
            score_mode: a.value("score_mode", ScoreMode::Dot)?,
            dropout: a.number("dropout", Some(0.0))?,
            use_causal_mask: a.value("use_causal_mask", false)?,
        })
    }
}
