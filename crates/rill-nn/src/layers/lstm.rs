//! `LSTM`: long short-term memory over (steps, features) sequences, as Keras'
//! `layers.LSTM` — its gates i, f, c, o side by side in one kernel, so `.keras` files move both
//! ways unchanged — exported as ONNX's `LSTM` operator.

use super::recurrent::{self, RecurrentConfig, RecurrentCore};
use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Activation, Result};
use rill_core::{CellKind, Tensor};
use serde::{Deserialize, Serialize};

/// [`Lstm`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LstmConfig {
    /// What every recurrent layer takes.
    #[serde(flatten)]
    pub rnn: RecurrentConfig,
    /// The gates' activation.
    #[serde(default = "sigmoid")]
    pub recurrent_activation: Activation,
    /// Start the forget gate's bias at one (Jozefowicz et al., 2015), as Keras does.
    #[serde(default = "yes")]
    pub unit_forget_bias: bool,
}

fn sigmoid() -> Activation {
    Activation::Sigmoid
}
fn yes() -> bool {
    true
}

/// An LSTM layer: per step, gates `i, f, o = σ(x·W + h·U + b)` and candidate
/// `c̃ = tanh(x·W + h·U + b)`, then `c = f·c + i·c̃` and `h = o·tanh(c)`. Takes (steps,
/// features) samples and returns the last h (units), or every step's with
/// [`Lstm::return_sequences`].
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::Lstm;
/// let model = Sequential::new(vec![
///     Box::new(Lstm::new(16).return_sequences(true)) as Box<dyn Layer>,
///     Box::new(Lstm::new(8)),
/// ])
/// .with_input_shape(&[20, 4])?;
/// assert_eq!(model.output_shape(), Some(vec![8]));
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Lstm {
    config: LstmConfig,
    core: RecurrentCore,
}

impl Lstm {
    /// An LSTM of `units`, with Keras' defaults.
    pub fn new(units: usize) -> Self {
        Lstm {
            config: LstmConfig {
                rnn: RecurrentConfig::new(units),
                recurrent_activation: Activation::Sigmoid,
                unit_forget_bias: true,
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
}

impl Lstm {
    /// Runs the layer on its sequences (and initial states), skipping `mask`'s padding.
    fn run(&self, inputs: &[Tensor], mask: Option<&Tensor>, training: bool) -> Result<Tensor> {
        let c = &self.config;
        let cell = recurrent::cell(
            Self::KIND,
            CellKind::Lstm,
            c.rnn.activation,
            c.recurrent_activation,
        )?;
        self.core.call(
            recurrent::LayerCell {
                kind: Self::KIND,
                rnn: &c.rnn,
                cell,
            },
            |b| Ok((b, None)),
            inputs,
            mask,
            training,
        )
    }
}

impl Configurable for Lstm {
    const KIND: &'static str = "LSTM";
    type Config = LstmConfig;
    fn get_config(&self) -> LstmConfig {
        self.config.clone()
    }
    fn from_config(config: LstmConfig) -> Result<Self> {
        config.rnn.check(Self::KIND)?;
        recurrent::squash(
            Self::KIND,
            "recurrent_activation",
            config.recurrent_activation,
        )?;
        Ok(Lstm {
            config,
            core: RecurrentCore::default(),
        })
    }
    fn examples() -> Vec<super::LayerExample<LstmConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(Lstm::new(3).get_config(), &[5, 2]),
            E::new(
                Lstm::new(4)
                    .return_sequences(true)
                    .go_backwards(true)
                    .get_config(),
                &[4, 3],
            ),
            E::new(
                Lstm::new(2)
                    .activation(Activation::Relu)
                    .use_bias(false)
                    .get_config(),
                &[3, 2],
            ),
        ]
    }
}

impl Layer for Lstm {
    crate::configurable_layer!();
    super::recurrent::recurrent_layer!(2);
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let (rnn, u) = (&self.config.rnn, self.config.rnn.units);
        let bias = match rnn.use_bias {
            false => None,
            true if self.config.unit_forget_bias => {
                let mut b = vec![0.0f32; 4 * u];
                b[u..2 * u].fill(1.0);
                Some(Tensor::from_vec(b, &[4 * u])?)
            }
            true => Some(rnn.bias_initializer.init(&[4 * u])?),
        };
        self.core.build(rnn, 4, input_shape[1], bias)
    }
}

/// ONNX's gate order i, o, f, c as Keras' blocks (i, f, c, o).
const ONNX_ORDER: [usize; 4] = [0, 3, 1, 2];

/// ONNX: the `LSTM` operator, weights with their gates reordered to ONNX's i, o, f, c; read
/// back from `LSTM` nodes of one direction (PyTorch's `nn.LSTM` exports them), their two biases
/// summed into Keras' one.
impl OnnxForm for Lstm {
    const ONNX_OPS: &'static [&'static str] = &["LSTM"];
    fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<LstmConfig>>> {
        if node.int("input_forget", 0)? != 0 {
            return Err(super::onnx_unsupported(node, "input_forget=1"));
        }
        let (f, g, h) = (Activation::Sigmoid, Activation::Tanh, Activation::Tanh);
        // Keras' i, f, c, o are ONNX's blocks 0, 2, 3, 1.
        let read = recurrent::from_onnx_recurrence(node, 4, &[0, 2, 3, 1], &[f, g, h])?;
        if read.activations[1] != read.activations[2] {
            return Err(super::onnx_unsupported(
                node,
                "different activations for the candidate and the output (Keras' LSTM has one)",
            ));
        }
        let mut weights = vec![read.kernel, read.recurrent];
        if let Some((wb, rb)) = read.biases {
            weights.push(wb.add(&rb)?);
        }
        let config = LstmConfig {
            rnn: RecurrentConfig {
                activation: read.activations[1],
                ..read.rnn
            },
            recurrent_activation: read.activations[0],
            unit_forget_bias: false,
        };
        Ok(Some(super::OnnxImport::new(config).weights(weights)))
    }
    fn to_onnx(c: &LstmConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let u = c.rnn.units;
        let w = recurrent::onnx_gates(l.weight(0)?, u, &ONNX_ORDER)?;
        let r = recurrent::onnx_gates(l.weight(1)?, u, &ONNX_ORDER)?;
        let wb = match l.weights.get(2) {
            Some(b) => recurrent::onnx_bias_blocks(b, u, &ONNX_ORDER)?,
            None => Tensor::zeros(&[4 * u], rill_core::DType::F32),
        };
        let b = Tensor::concat(&[wb, Tensor::zeros(&[4 * u], rill_core::DType::F32)], 0)?
            .reshape(&[1, 8 * u])?;
        let (gate, act) = (
            recurrent::onnx_activation(c.recurrent_activation)?,
            recurrent::onnx_activation(c.rnn.activation)?,
        );
        let mut attrs = vec![super::OnnxAttr::Strs(
            "activations",
            vec![gate, act.clone(), act.clone()],
        )];
        if act == "Affine" {
            attrs.push(super::OnnxAttr::Floats("activation_alpha", vec![1.0, 1.0]));
        }
        recurrent::to_onnx_recurrence("LSTM", &c.rnn, &l, g, [w, r, b], attrs)
    }
}

/// Keras: `keras.layers.LSTM`; its weights live in its cell's group.
impl KerasForm for Lstm {
    const KERAS_POSITIONAL: &'static [&'static str] = &["units"];
    const KERAS_INPUTS: super::KerasInputs = super::KerasInputs::InitialState;
    fn to_keras(c: &LstmConfig) -> serde_json::Value {
        let mut args = c.rnn.to_keras();
        args["recurrent_activation"] = c.recurrent_activation.name().into();
        args["unit_forget_bias"] = c.unit_forget_bias.into();
        args
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<LstmConfig> {
        Ok(LstmConfig {
            rnn: RecurrentConfig::from_keras(a)?,
            recurrent_activation: a.activation_or("recurrent_activation", Activation::Sigmoid)?,
            unit_forget_bias: a.value("unit_forget_bias", true)?,
        })
    }
    fn keras_weight_groups(_c: &LstmConfig, weights: usize) -> super::WeightGroups {
        vec![("cell".into(), weights)]
    }
}
