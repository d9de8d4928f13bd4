//! `GRU`: gated recurrent units over (steps, features) sequences, as Keras' `layers.GRU` in
//! both of its forms — `reset_after` (Keras' default and cuDNN's: the reset gate scales the
//! recurrent product, with a bias of its own, so the bias is (2, 3·units)) or before it — its
//! gates z, r, h side by side as Keras keeps them, exported as ONNX's `GRU` operator.

use super::recurrent::{self, RecurrentConfig, RecurrentCore};
use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Activation, Result};
use rill_core::{CellKind, DType, Tensor};
use serde::{Deserialize, Serialize};

/// [`Gru`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GruConfig {
    /// What every recurrent layer takes.
    #[serde(flatten)]
    pub rnn: RecurrentConfig,
    /// The gates' activation.
    #[serde(default = "sigmoid")]
    pub recurrent_activation: Activation,
    /// Apply the reset gate after the recurrent product (Keras' default) or before it.
    #[serde(default = "yes")]
    pub reset_after: bool,
}

fn sigmoid() -> Activation {
    Activation::Sigmoid
}
fn yes() -> bool {
    true
}

/// A GRU layer: per step, gates `z, r = σ(x·W + h·U + b)`, candidate
/// `h̃ = tanh(x·W_h + r·(h·U_h + b_h))` (or `tanh(x·W_h + (r·h)·U_h + b)` without
/// `reset_after`), then `h = z·h + (1 − z)·h̃`.
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::Gru;
/// let mut gru = Gru::new(8);
/// gru.build(&[10, 3])?;
/// // Kernel (3, 24), recurrent kernel (8, 24), and the reset-after bias (2, 24).
/// assert_eq!(gru.variables().iter().map(|v| v.numel()).sum::<usize>(), 72 + 192 + 48);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Gru {
    config: GruConfig,
    core: RecurrentCore,
}

impl Gru {
    /// A GRU of `units`, with Keras' defaults.
    pub fn new(units: usize) -> Self {
        Gru {
            config: GruConfig {
                rnn: RecurrentConfig::new(units),
                recurrent_activation: Activation::Sigmoid,
                reset_after: true,
            },
            core: RecurrentCore::default(),
        }
    }
    super::recurrent::recurrent_builders!();
    /// Sets the gates' activation.
    pub fn recurrent_activation(mut self, a: Activation) -> Self {
        self.config.recurrent_activation = a;
        self
    }
    /// Applies the reset gate after the recurrent product (the default) or before it.
    pub fn reset_after(mut self, on: bool) -> Self {
        self.config.reset_after = on;
        self
    }
}

impl Gru {
    /// Runs the layer on its sequences (and initial states), skipping `mask`'s padding.
    fn run(&self, inputs: &[Tensor], mask: Option<&Tensor>, training: bool) -> Result<Tensor> {
        let c = &self.config;
        let reset_after = c.reset_after;
        let cell = recurrent::cell(
            Self::KIND,
            CellKind::Gru { reset_after },
            c.rnn.activation,
            c.recurrent_activation,
        )?;
        let u3 = 3 * c.rnn.units;
        // A reset-after GRU's bias is (2, 3·units): the step inputs', then the recurrent
        // product's — zero without a bias.
        let split = |b: Option<Tensor>| -> Result<(Option<Tensor>, Option<Tensor>)> {
            match b {
                Some(b) if reset_after => Ok((
                    Some(b.slice(0, 0, 1)?.reshape(&[u3])?),
                    Some(b.slice(0, 1, 2)?.reshape(&[u3])?),
                )),
                None if reset_after => Ok((None, Some(Tensor::zeros(&[u3], DType::F32)))),
                b => Ok((b, None)),
            }
        };
        self.core.call(
            recurrent::LayerCell {
                kind: Self::KIND,
                rnn: &c.rnn,
                cell,
            },
            split,
            inputs,
            mask,
            training,
        )
    }
}

impl Configurable for Gru {
    const KIND: &'static str = "GRU";
    type Config = GruConfig;
    fn get_config(&self) -> GruConfig {
        self.config.clone()
    }
    fn from_config(config: GruConfig) -> Result<Self> {
        config.rnn.check(Self::KIND)?;
        recurrent::squash(
            Self::KIND,
            "recurrent_activation",
            config.recurrent_activation,
        )?;
        Ok(Gru {
            config,
            core: RecurrentCore::default(),
        })
    }
    fn examples() -> Vec<super::LayerExample<GruConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(Gru::new(3).get_config(), &[5, 2]),
            E::new(
                Gru::new(4)
                    .reset_after(false)
                    .return_sequences(true)
                    .get_config(),
                &[4, 3],
            ),
            E::new(
                Gru::new(2)
                    .go_backwards(true)
                    .use_bias(false)
                    .dropout(0.2)
                    .recurrent_dropout(0.3)
                    .get_config(),
                &[3, 2],
            ),
        ]
    }
}

impl Layer for Gru {
    crate::configurable_layer!();
    super::recurrent::recurrent_layer!(1);
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let (rnn, u) = (&self.config.rnn, self.config.rnn.units);
        let bias = match (rnn.use_bias, self.config.reset_after) {
            (false, _) => None,
            (true, true) => Some(rnn.bias_initializer.init(&[2, 3 * u])?),
            (true, false) => Some(rnn.bias_initializer.init(&[3 * u])?),
        };
        self.core.build(rnn, 3, input_shape[1], bias)
    }
}

/// ONNX: the `GRU` operator (gates z, r, h, as Keras orders them), `linear_before_reset` for
/// `reset_after`; read back from `GRU` nodes of one direction (PyTorch's `nn.GRU` exports them
/// with `linear_before_reset=1`).
impl OnnxForm for Gru {
    const ONNX_OPS: &'static [&'static str] = &["GRU"];
    fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<GruConfig>>> {
        let defaults = [Activation::Sigmoid, Activation::Tanh];
        let read = recurrent::from_onnx_recurrence(node, 3, &[0, 1, 2], &defaults)?;
        let reset_after = node.int("linear_before_reset", 0)? != 0;
        let mut weights = vec![read.kernel, read.recurrent];
        match read.biases {
            Some((wb, rb)) if reset_after => weights.push(Tensor::stack(&[wb, rb], 0)?),
            // Before the reset, the recurrent bias adds to the input bias.
            Some((wb, rb)) => weights.push(wb.add(&rb)?),
            None => {}
        }
        let config = GruConfig {
            rnn: RecurrentConfig {
                activation: read.activations[1],
                ..read.rnn
            },
            recurrent_activation: read.activations[0],
            reset_after,
        };
        Ok(Some(super::OnnxImport::new(config).weights(weights)))
    }
    fn to_onnx(c: &GruConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let u = c.rnn.units;
        let order = [0, 1, 2];
        let w = recurrent::onnx_gates(l.weight(0)?, u, &order)?;
        let r = recurrent::onnx_gates(l.weight(1)?, u, &order)?;
        let zeros = || Tensor::zeros(&[3 * u], DType::F32);
        let (wb, rb) = match l.weights.get(2) {
            None => (zeros(), zeros()),
            Some(b) if c.reset_after => (
                b.slice(0, 0, 1)?.reshape(&[3 * u])?,
                b.slice(0, 1, 2)?.reshape(&[3 * u])?,
            ),
            Some(b) => (b.clone(), zeros()),
        };
        let b = Tensor::concat(&[wb, rb], 0)?.reshape(&[1, 6 * u])?;
        let (gate, act) = (
            recurrent::onnx_activation(c.recurrent_activation)?,
            recurrent::onnx_activation(c.rnn.activation)?,
        );
        let mut attrs = vec![
            super::OnnxAttr::Strs("activations", vec![gate, act.clone()]),
            super::OnnxAttr::Int("linear_before_reset", i64::from(c.reset_after)),
        ];
        if act == "Affine" {
            attrs.push(super::OnnxAttr::Floats("activation_alpha", vec![1.0]));
        }
        recurrent::to_onnx_recurrence("GRU", &c.rnn, &l, g, [w, r, b], attrs)
    }
}

/// Keras: `keras.layers.GRU`; its weights live in its cell's group.
impl KerasForm for Gru {
    const KERAS_POSITIONAL: &'static [&'static str] = &["units"];
    const KERAS_INPUTS: super::KerasInputs = super::KerasInputs::InitialState;
    fn to_keras(c: &GruConfig) -> serde_json::Value {
        let mut args = c.rnn.to_keras();
        args["recurrent_activation"] = c.recurrent_activation.name().into();
        args["reset_after"] = c.reset_after.into();
        args
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<GruConfig> {
        Ok(GruConfig {
            rnn: RecurrentConfig::from_keras(a)?,
            recurrent_activation: a.activation_or("recurrent_activation", Activation::Sigmoid)?,
            reset_after: a.value("reset_after", true)?,
        })
    }
    fn keras_weight_groups(_c: &GruConfig, weights: usize) -> super::WeightGroups {
        vec![("cell".into(), weights)]
    }
}
