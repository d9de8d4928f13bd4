//! `SimpleRNN`: the plain recurrent layer over (steps, features) sequences, as Keras'
//! `layers.SimpleRNN` — `h = tanh(x·W + h·U + b)` per step — exported as ONNX's `RNN`.

use super::recurrent::{self, RecurrentConfig, RecurrentCore};
use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Activation, Result};
use rill_core::{CellKind, DType, Tensor};
use serde::{Deserialize, Serialize};

/// [`SimpleRnn`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimpleRnnConfig {
    /// What every recurrent layer takes.
    #[serde(flatten)]
    pub rnn: RecurrentConfig,
}

/// A fully connected recurrent layer: `h = activation(x·W + h·U + b)` at every step.
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::SimpleRnn;
/// let model = Sequential::new(vec![Box::new(SimpleRnn::new(6)) as Box<dyn Layer>])
///     .with_input_shape(&[12, 2])?;
/// assert_eq!(model.output_shape(), Some(vec![6]));
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct SimpleRnn {
    config: SimpleRnnConfig,
    core: RecurrentCore,
}

impl SimpleRnn {
    /// A SimpleRNN of `units`, with Keras' defaults.
    pub fn new(units: usize) -> Self {
        SimpleRnn {
            config: SimpleRnnConfig {
                rnn: RecurrentConfig::new(units),
            },
            core: RecurrentCore::default(),
        }
    }
    super::recurrent::recurrent_builders!();
}

impl SimpleRnn {
    /// Runs the layer on its sequences (and initial states), skipping `mask`'s padding.
    fn run(&self, inputs: &[Tensor], mask: Option<&Tensor>, training: bool) -> Result<Tensor> {
        let rnn = &self.config.rnn;
        // The gates' activation is unused by this cell.
        let cell = recurrent::cell(
            Self::KIND,
            CellKind::SimpleRnn,
            rnn.activation,
            Activation::Sigmoid,
        )?;
        self.core.call(
            recurrent::LayerCell {
                kind: Self::KIND,
                rnn,
                cell,
            },
            |b| Ok((b, None)),
            inputs,
            mask,
            training,
        )
    }
}

impl Configurable for SimpleRnn {
    const KIND: &'static str = "SimpleRNN";
    type Config = SimpleRnnConfig;
    fn get_config(&self) -> SimpleRnnConfig {
        self.config.clone()
    }
    fn from_config(config: SimpleRnnConfig) -> Result<Self> {
        config.rnn.check(Self::KIND)?;
        Ok(SimpleRnn {
            config,
            core: RecurrentCore::default(),
        })
    }
    fn examples() -> Vec<super::LayerExample<SimpleRnnConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(SimpleRnn::new(3).get_config(), &[5, 2]),
            E::new(
                SimpleRnn::new(4)
                    .return_sequences(true)
                    .go_backwards(true)
                    .activation(Activation::Relu)
                    .get_config(),
                &[4, 3],
            ),
        ]
    }
}

impl Layer for SimpleRnn {
    crate::configurable_layer!();
    super::recurrent::recurrent_layer!(1);
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let rnn = &self.config.rnn;
        let bias = match rnn.use_bias {
            true => Some(rnn.bias_initializer.init(&[rnn.units])?),
            false => None,
        };
        self.core.build(rnn, 1, input_shape[1], bias)
    }
}

/// ONNX: the `RNN` operator; read back from `RNN` nodes of one direction (PyTorch's
/// `nn.RNN`), their two biases summed.
impl OnnxForm for SimpleRnn {
    const ONNX_OPS: &'static [&'static str] = &["RNN"];
    fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<SimpleRnnConfig>>> {
        let read = recurrent::from_onnx_recurrence(node, 1, &[0], &[Activation::Tanh])?;
        let mut weights = vec![read.kernel, read.recurrent];
        if let Some((wb, rb)) = read.biases {
            weights.push(wb.add(&rb)?);
        }
        let config = SimpleRnnConfig {
            rnn: RecurrentConfig {
                activation: read.activations[0],
                ..read.rnn
            },
        };
        Ok(Some(super::OnnxImport::new(config).weights(weights)))
    }
    fn to_onnx(c: &SimpleRnnConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let u = c.rnn.units;
        let w = recurrent::onnx_gates(l.weight(0)?, u, &[0])?;
        let r = recurrent::onnx_gates(l.weight(1)?, u, &[0])?;
        let wb = match l.weights.get(2) {
            Some(b) => b.clone(),
            None => Tensor::zeros(&[u], DType::F32),
        };
        let b = Tensor::concat(&[wb, Tensor::zeros(&[u], DType::F32)], 0)?.reshape(&[1, 2 * u])?;
        let act = recurrent::onnx_activation(c.rnn.activation)?;
        let mut attrs = vec![super::OnnxAttr::Strs("activations", vec![act.clone()])];
        if act == "Affine" {
            attrs.push(super::OnnxAttr::Floats("activation_alpha", vec![1.0]));
        }
        recurrent::to_onnx_recurrence("RNN", &c.rnn, &l, g, [w, r, b], attrs)
    }
}

/// Keras: `keras.layers.SimpleRNN`; its weights live in its cell's group.
impl KerasForm for SimpleRnn {
    const KERAS_POSITIONAL: &'static [&'static str] = &["units"];
    const KERAS_INPUTS: super::KerasInputs = super::KerasInputs::InitialState;
    fn to_keras(c: &SimpleRnnConfig) -> serde_json::Value {
        c.rnn.to_keras()
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<SimpleRnnConfig> {
        Ok(SimpleRnnConfig {
            rnn: RecurrentConfig::from_keras(a)?,
        })
    }
    fn keras_weight_groups(_c: &SimpleRnnConfig, weights: usize) -> super::WeightGroups {
        vec![("cell".into(), weights)]
    }
}
