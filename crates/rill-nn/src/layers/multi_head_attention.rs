//! `MultiHeadAttention`: scaled dot-product attention with several heads, as Keras'
//! `layers.MultiHeadAttention` over (steps, features) sequences — query, value and (optionally)
//! key as the layer's inputs, Keras' four projections (`query_dense`, `key_dense`,
//! `value_dense`, `output_dense`) with Keras' weight shapes, an optional causal mask and
//! dropout on the attention weights.

use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Initializer, Result, Variable};
use rill_core::{random::with_global, DType, Generator, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Mutex;

/// [`MultiHeadAttention`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiHeadAttentionConfig {
    /// Attention heads.
    pub num_heads: usize,
    /// Width of each head's queries and keys.
    pub key_dim: usize,
    /// Width of each head's values (`key_dim` when absent).
    #[serde(default)]
    pub value_dim: Option<usize>,
    /// Fraction of attention weights dropped while training.
    #[serde(default)]
    pub dropout: f64,
    /// Whether the projections add biases.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Width of the output (the query's features when absent).
    #[serde(default)]
    pub output_shape: Option<usize>,
    /// Step i attends to steps up to i only (Keras' `use_causal_mask` call argument).
    #[serde(default)]
    pub use_causal_mask: bool,
    /// The projections' initial values.
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
}

fn yes() -> bool {
    true
}
fn glorot() -> Initializer {
    Initializer::GlorotUniform
}

/// Attention of `num_heads` heads from a query sequence over a value sequence (and a key
/// sequence, the value when absent): per head, `softmax(q·kᵀ / √key_dim)·v`, the heads' results
/// projected back to the query's width. Self-attention gives the same node twice.
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::MultiHeadAttention;
/// let mut b = FunctionalBuilder::new();
/// let x = b.input(&[10, 16]);
/// let y = b.merge(MultiHeadAttention::new(2, 8).use_causal_mask(true), &[x, x])?;
/// let model = b.build(&[x], &[y])?;
/// assert_eq!(model.output_shape(), Some(vec![10, 16]));
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct MultiHeadAttention {
    config: MultiHeadAttentionConfig,
    /// Query, key, value and output projections: kernel and (with `use_bias`) bias of each.
    weights: Vec<Variable>,
    rng: Mutex<Option<Generator>>,
}

/// The four projections, in Keras' order.
const PROJECTIONS: [&str; 4] = ["query_dense", "key_dense", "value_dense", "output_dense"];

impl MultiHeadAttention {
    /// `num_heads` heads of `key_dim`, with Keras' defaults.
    pub fn new(num_heads: usize, key_dim: usize) -> Self {
        MultiHeadAttention {
            config: MultiHeadAttentionConfig {
                num_heads,
                key_dim,
                value_dim: None,
                dropout: 0.0,
                use_bias: true,
                output_shape: None,
                use_causal_mask: false,
                kernel_initializer: Initializer::GlorotUniform,
            },
            weights: Vec::new(),
            rng: Mutex::new(None),
        }
    }
    /// Step i attends to steps up to i only.
    pub fn use_causal_mask(mut self, on: bool) -> Self {
        self.config.use_causal_mask = on;
        self
    }
    /// Sets the width of each head's values.
    pub fn value_dim(mut self, d: usize) -> Self {
        self.config.value_dim = Some(d);
        self
    }
    /// Sets the output's width.
    pub fn output_shape(mut self, d: usize) -> Self {
        self.config.output_shape = Some(d);
        self
    }
    /// Drops this fraction of the attention weights while training.
    pub fn dropout(mut self, rate: f64) -> Self {
        self.config.dropout = rate;
        self
    }
    /// Turns the projections' biases on or off.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.config.use_bias = on;
        self
    }
    fn value_width(&self) -> usize {
        self.config.value_dim.unwrap_or(self.config.key_dim)
    }

    /// Projection `which` (0 query … 3 output): its kernel and bias.
    fn projection(&self, which: usize) -> Result<(Tensor, Option<Tensor>)> {
        let per = if self.config.use_bias { 2 } else { 1 };
        let kernel = self
            .weights
            .get(which * per)
            .ok_or_else(|| Error::not_built(Self::KIND))?
            .value();
        let bias = match self.config.use_bias {
            true => Some(self.weights[which * per + 1].value()),
            false => None,
        };
        Ok((kernel, bias))
    }

    /// (batch, steps, features) through projection `which` into (batch, heads, steps, width).
    fn heads(&self, x: &Tensor, which: usize) -> Result<Tensor> {
        let (kernel, bias) = self.projection(which)?;
        let (b, t, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let (h, w) = (kernel.shape()[1], kernel.shape()[2]);
        let mut y = x
            .reshape(&[b * t, d])?
            .matmul(&kernel.reshape(&[d, h * w])?)?;
        if let Some(bias) = bias {
            y = y.add(&bias.reshape(&[h * w])?)?;
        }
        Ok(y.reshape(&[b, t, h, w])?.permute(&[0, 2, 1, 3])?)
    }

    /// The layer on (query, value[, key]).
    fn attend(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        let (query, value, key) = match inputs {
            [q, v] => (q, v, v),
            [q, v, k] => (q, v, k),
            _ => {
                return Err(Error::Config(format!(
                "MultiHeadAttention takes a query, a value and optionally a key; found {} inputs",
                inputs.len()
            )))
            }
        };
        let c = &self.config;
        let q = self.heads(query, 0)?;
        let k = self.heads(key, 1)?;
        let v = self.heads(value, 2)?;
        let scale = 1.0 / (c.key_dim as f64).sqrt();
        let scores = q.mul_scalar(scale)?.matmul(&k.permute(&[0, 1, 3, 2])?)?;
        let tq = query.shape()[1];
        let weights = super::attention::attention_weights(
            Self::KIND,
            scores,
            c.use_causal_mask,
            c.dropout,
            &self.rng,
            training,
        )?;
        // (batch, heads, steps, value width) → (batch·steps, heads·value width) → output.
        let mixed = weights.matmul(&v)?.permute(&[0, 2, 1, 3])?;
        let (b, h, w) = (query.shape()[0], c.num_heads, self.value_width());
        let (kernel, bias) = self.projection(3)?;
        let out_dim = kernel.shape()[2];
        let mut y = mixed
            .reshape(&[b * tq, h * w])?
            .matmul(&kernel.reshape(&[h * w, out_dim])?)?;
        if let Some(bias) = bias {
            y = y.add(&bias)?;
        }
        Ok(y.reshape(&[b, tq, out_dim])?)
    }
}

/// The error for the layer given one input: attention needs a query and a value.
fn one_input() -> Error {
    Error::Config(
        "MultiHeadAttention takes a query and a value (and optionally a key): apply it with FunctionalBuilder::merge, e.g. &[x, x] for self-attention".into(),
    )
}

impl Configurable for MultiHeadAttention {
    const KIND: &'static str = "MultiHeadAttention";
    type Config = MultiHeadAttentionConfig;
    fn get_config(&self) -> MultiHeadAttentionConfig {
        self.config.clone()
    }
    fn from_config(config: MultiHeadAttentionConfig) -> Result<Self> {
        let c = &config;
        let sizes = [
            c.num_heads,
            c.key_dim,
            c.value_dim.unwrap_or(1),
            c.output_shape.unwrap_or(1),
        ];
        super::check_sizes(
            Self::KIND,
            "num_heads, key_dim, value_dim and output_shape",
            &sizes,
        )?;
        if !(0.0..1.0).contains(&c.dropout) {
            return Err(Error::Config(format!(
                "MultiHeadAttention: dropout must be in [0, 1), found {}",
                c.dropout
            )));
        }
        Ok(MultiHeadAttention {
            config,
            weights: Vec::new(),
            rng: Mutex::new(None),
        })
    }
    fn examples() -> Vec<super::LayerExample<MultiHeadAttentionConfig>> {
        use super::LayerExample as E;
        vec![
            // Self-attention: the same sequence as query and value.
            E::new(MultiHeadAttention::new(2, 3).get_config(), &[5, 4]).inputs(2),
            E::new(
                MultiHeadAttention::new(3, 2)
                    .use_causal_mask(true)
                    .value_dim(4)
                    .output_shape(5)
                    .dropout(0.1)
                    .get_config(),
                &[4, 6],
            )
            .inputs(3),
            E::new(
                MultiHeadAttention::new(1, 4).use_bias(false).get_config(),
                &[3, 2],
            )
            .inputs(2),
        ]
    }
}

impl Layer for MultiHeadAttention {
    crate::configurable_layer!();
    fn compute_output_shape(&self, _input_shape: &[usize]) -> Result<Vec<usize>> {
        Err(one_input())
    }
    fn output_shape_for(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let bad = || {
            Error::Config(format!(
                "MultiHeadAttention takes (steps, features) query, value and key sequences, the key as long as the value; found {}",
                shapes.iter().map(|s| crate::batch_shape(s)).collect::<Vec<_>>().join(", ")
            ))
        };
        match shapes {
            [q, v] | [q, v, _] if q.len() == 2 && v.len() == 2 => {
                if let [_, _, k] = shapes {
                    if k.len() != 2 || k[0] != v[0] {
                        return Err(bad());
                    }
                }
                let out = self.config.output_shape.unwrap_or(q[1]);
                super::check_sample_values(
                    Self::KIND,
                    "the attention weights",
                    &[self.config.num_heads, q[0], v[0]],
                )?;
                Ok(vec![q[0], out])
            }
            _ => Err(bad()),
        }
    }
    fn build_for(&mut self, shapes: &[Vec<usize>]) -> Result<()> {
        self.output_shape_for(shapes)?;
        let c = &self.config;
        let (q, v) = (shapes[0][1], shapes[1][1]);
        let k = shapes.get(2).map_or(v, |s| s[1]);
        let (h, dk, dv) = (c.num_heads, c.key_dim, self.value_width());
        let out = c.output_shape.unwrap_or(q);
        let kernels = [
            vec![q, h, dk],
            vec![k, h, dk],
            vec![v, h, dv],
            vec![h, dv, out],
        ];
        let biases = [vec![h, dk], vec![h, dk], vec![h, dv], vec![out]];
        self.weights.clear();
        for (kernel, bias) in kernels.iter().zip(&biases) {
            // Keras' fans of a 3-D kernel, as its initializers compute them.
            let value = c.kernel_initializer.init(kernel)?;
            self.weights.push(Variable::trainable("kernel", value)?);
            if c.use_bias {
                self.weights.push(Variable::trainable(
                    "bias",
                    Tensor::zeros(bias, DType::F32),
                )?);
            }
        }
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Generator::new(with_global(|g| g.next_seed())));
        Ok(())
    }
    fn call(&self, _x: &Tensor, _training: bool) -> Result<Tensor> {
        Err(one_input())
    }
    fn call_on(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        self.attend(inputs, training)
    }
    fn call_masked(&self, _inputs: &[Tensor], _mask: &Tensor, _training: bool) -> Result<Tensor> {
        Err(Error::Config(
            "MultiHeadAttention does not take masks yet (from Embedding(mask_zero) or Masking): Keras would attend to the real steps only".into(),
        ))
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.clone()
    }
    fn variable_names(&self) -> Vec<String> {
        let per = if self.config.use_bias { 2 } else { 1 };
        self.weights
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{}/{}", PROJECTIONS[i / per], v.name()))
            .collect()
    }
}

/// ONNX: the projections as `MatMul` and `Add`, the heads by `Reshape` and `Transpose`, the
/// scores by a batched `MatMul`, the causal mask as a constant added before `Softmax`.
impl OnnxForm for MultiHeadAttention {
    fn to_onnx(
        c: &MultiHeadAttentionConfig,
        l: OnnxLayer<'_>,
        g: &mut dyn OnnxGraph,
    ) -> Result<String> {
        use super::OnnxAttr::Ints;
        let per = if c.use_bias { 2 } else { 1 };
        let (q_in, v_in) = (l.inputs[0].clone(), l.inputs[1].clone());
        let k_in = l.inputs.get(2).cloned().unwrap_or_else(|| v_in.clone());
        let tq = l.input_shape[0];
        let heads = |g: &mut dyn OnnxGraph, x: String, which: usize| -> Result<String> {
            let kernel = l.weight(which * per)?;
            let (d, h, w) = (kernel.shape()[0], kernel.shape()[1], kernel.shape()[2]);
            let name = PROJECTIONS[which];
            let flat = g.weight(
                &l.part(&format!("{name}/kernel")),
                &kernel.reshape(&[d, h * w])?,
            )?;
            let mut y = g.node(
                "MatMul",
                vec![x, flat],
                &l.part(&format!("{name}/product")),
                vec![],
            );
            if c.use_bias {
                let b = l.weight(which * per + 1)?.reshape(&[h * w])?;
                let b = g.weight(&l.part(&format!("{name}/bias")), &b)?;
                y = g.node(
                    "Add",
                    vec![y, b],
                    &l.part(&format!("{name}/biased")),
                    vec![],
                );
            }
            let shape = g.int64s(
                &l.part(&format!("{name}/shape")),
                &[0, 0, h as i64, w as i64],
            );
            let y = g.node(
                "Reshape",
                vec![y, shape],
                &l.part(&format!("{name}/heads")),
                vec![],
            );
            Ok(g.node(
                "Transpose",
                vec![y],
                &l.part(&format!("{name}/by_head")),
                vec![Ints("perm", vec![0, 2, 1, 3])],
            ))
        };
        let q = heads(g, q_in, 0)?;
        let k = heads(g, k_in, 1)?;
        let v = heads(g, v_in, 2)?;
        let scale = g.scalar(&l.part("scale"), 1.0 / (c.key_dim as f32).sqrt());
        let q = g.node("Mul", vec![q, scale], &l.part("scaled_query"), vec![]);
        let kt = g.node(
            "Transpose",
            vec![k],
            &l.part("keys_t"),
            vec![Ints("perm", vec![0, 1, 3, 2])],
        );
        let mut scores = g.node("MatMul", vec![q, kt], &l.part("scores"), vec![]);
        if c.use_causal_mask {
            // The key's steps: the value's (or the key's own, given).
            let tk = l.input_shapes.get(1).map_or(tq, |s| s[0]);
            let bias = g.weight(
                &l.part("causal_mask"),
                &super::attention::causal_bias(tq, tk)?,
            )?;
            scores = g.node("Add", vec![scores, bias], &l.part("masked_scores"), vec![]);
        }
        let weights = g.node(
            "Softmax",
            vec![scores],
            &l.part("attention"),
            vec![super::OnnxAttr::Int("axis", -1)],
        );
        let mixed = g.node("MatMul", vec![weights, v], &l.part("mixed"), vec![]);
        let mixed = g.node(
            "Transpose",
            vec![mixed],
            &l.part("by_step"),
            vec![Ints("perm", vec![0, 2, 1, 3])],
        );
        let kernel = l.weight(3 * per)?;
        let (h, w, out) = (kernel.shape()[0], kernel.shape()[1], kernel.shape()[2]);
        let flat_shape = g.int64s(&l.part("joined_shape"), &[0, 0, (h * w) as i64]);
        let mixed = g.node(
            "Reshape",
            vec![mixed, flat_shape],
            &l.part("joined"),
            vec![],
        );
        let kernel = g.weight(
            &l.part("output_dense/kernel"),
            &kernel.reshape(&[h * w, out])?,
        )?;
        if c.use_bias {
            let y = g.node("MatMul", vec![mixed, kernel], &l.part("output"), vec![]);
            let b = g.weight(&l.part("output_dense/bias"), l.weight(3 * per + 1)?)?;
            Ok(g.node("Add", vec![y, b], l.name, vec![]))
        } else {
            Ok(g.node("MatMul", vec![mixed, kernel], l.name, vec![]))
        }
    }
}

/// Keras: `keras.layers.MultiHeadAttention` over the steps axis; `use_causal_mask` is Keras'
/// call argument (rill-keras moves it between the layer's config and its call).
impl KerasForm for MultiHeadAttention {
    const KERAS_POSITIONAL: &'static [&'static str] = &["num_heads", "key_dim"];
    const KERAS_CALL_ARGUMENTS: &'static [&'static str] = &["use_causal_mask"];
    const KERAS_INPUTS: super::KerasInputs = super::KerasInputs::Positional;
    const KERAS_BUILD_SHAPES: &'static [&'static str] =
        &["query_shape", "value_shape", "key_shape"];
    fn to_keras(c: &MultiHeadAttentionConfig) -> Value {
        json!({
            "num_heads": c.num_heads,
            "key_dim": c.key_dim,
            "value_dim": c.value_dim.unwrap_or(c.key_dim),
            "dropout": c.dropout,
            "use_bias": c.use_bias,
            "output_shape": c.output_shape.map(|d| json!([d])),
            "attention_axes": [1],
            "use_causal_mask": c.use_causal_mask,
        })
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<MultiHeadAttentionConfig> {
        a.expect(
            "attention_axes",
            &[json!([1]), json!(1), json!(-2), json!([-2])],
            "Rill's MultiHeadAttention attends over the steps axis",
        )?;
        a.expect("use_gate", &[json!(false)], "Rill has no gated attention")?;
        a.expect("sliding_window", &[], "Rill attends over every step")?;
        a.expect("bias_regularizer", &[], "Rill has no such option")?;
        a.expect("kernel_regularizer", &[], "Rill has no such option")?;
        let output_shape = match a.get("output_shape") {
            Value::Null => None,
            _ => Some(a.size("output_shape", None)?),
        };
        Ok(MultiHeadAttentionConfig {
            num_heads: a.required("num_heads")?,
            key_dim: a.required("key_dim")?,
            value_dim: a.value("value_dim", None)?,
            dropout: a.number("dropout", Some(0.0))?,
            use_bias: a.value("use_bias", true)?,
            output_shape,
            use_causal_mask: a.value("use_causal_mask", false)?,
            kernel_initializer: Initializer::GlorotUniform,
        })
    }
    fn keras_weight_groups(c: &MultiHeadAttentionConfig, _weights: usize) -> super::WeightGroups {
        let per = if c.use_bias { 2 } else { 1 };
        PROJECTIONS.iter().map(|p| (p.to_string(), per)).collect()
    }
}
