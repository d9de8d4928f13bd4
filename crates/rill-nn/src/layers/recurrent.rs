//! What the recurrent layers (`SimpleRNN`, `LSTM`, `GRU`) share: Keras' RNN arguments, the
//! three weights (kernel, recurrent kernel, bias), and the call around rill-core's
//! [`Tensor::recurrence`] — the input projection of every step as one product, then the time
//! loop as one op. Each layer's own file says what its cell is, how its bias is laid out and
//! how it reads and writes Keras and ONNX.

use super::serde_helpers::check_sizes;
use super::{KerasArgs, Regularizer};
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::{
    random::with_global, CellKind, DType, Generator, RecurrentCell, RecurrentExtras, Squash, Tensor,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Mutex;

/// The arguments every recurrent layer takes (Keras' names), flattened into each layer's config.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecurrentConfig {
    /// The width of the state (and of the output).
    pub units: usize,
    /// The candidate state's activation (Keras' `activation`).
    #[serde(default = "tanh")]
    pub activation: Activation,
    /// Whether the layer adds a bias.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// Output every step's state (batch, steps, units), not only the last (batch, units).
    #[serde(default)]
    pub return_sequences: bool,
    /// Run over the steps last to first; the outputs come in that order too (as in Keras).
    #[serde(default)]
    pub go_backwards: bool,
    /// Carry the last states of one batch over as the first of the next (row i continues
    /// row i), until `reset_states`.
    #[serde(default)]
    pub stateful: bool,
    /// The fraction of input features dropped while training (one mask per sequence, the
    /// same at every step, as in Keras).
    #[serde(default)]
    pub dropout: f64,
    /// The fraction of the state's units dropped from the recurrent product while training
    /// (one mask per sequence, the same at every step, as in Keras).
    #[serde(default)]
    pub recurrent_dropout: f64,
    /// The input kernel's initial values.
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    /// The recurrent kernel's initial values.
    #[serde(default = "orthogonal")]
    pub recurrent_initializer: Initializer,
    /// The bias's initial values.
    #[serde(default)]
    pub bias_initializer: Initializer,
    /// A penalty on the input kernel, added to the loss.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
}

fn tanh() -> Activation {
    Activation::Tanh
}
fn yes() -> bool {
    true
}
fn glorot() -> Initializer {
    Initializer::GlorotUniform
}
fn orthogonal() -> Initializer {
    Initializer::Orthogonal(1.0)
}

impl RecurrentConfig {
    /// Keras' defaults for a layer of `units`.
    pub fn new(units: usize) -> Self {
        RecurrentConfig {
            units,
            activation: Activation::Tanh,
            use_bias: true,
            return_sequences: false,
            go_backwards: false,
            stateful: false,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            kernel_initializer: Initializer::GlorotUniform,
            recurrent_initializer: Initializer::Orthogonal(1.0),
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
        }
    }

    /// Checks the arguments of a layer of `kind`.
    pub(crate) fn check(&self, kind: &str) -> Result<()> {
        check_sizes(kind, "units", &[self.units])?;
        for (name, rate) in [
            ("dropout", self.dropout),
            ("recurrent_dropout", self.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&rate) {
                return Err(Error::Config(format!(
                    "{kind}: {name} must be in [0, 1), found {rate}"
                )));
            }
        }
        squash(kind, "activation", self.activation)?;
        Ok(())
    }

    /// The per-sample output shape for inputs (steps, features).
    pub(crate) fn output_shape(&self, kind: &str, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[steps, _features] = input_shape else {
            return Err(Error::Config(format!(
                "{kind} expects per-sample inputs (steps, features), found {input_shape:?}"
            )));
        };
        if steps == 0 {
            return Err(Error::Config(format!(
                "{kind} needs sequences of at least one step"
            )));
        }
        Ok(if self.return_sequences {
            vec![steps, self.units]
        } else {
            vec![self.units]
        })
    }

    /// Keras' arguments for these, as every recurrent layer writes them.
    pub(crate) fn to_keras(&self) -> Value {
        json!({
            "units": self.units,
            "activation": self.activation.name(),
            "use_bias": self.use_bias,
            "return_sequences": self.return_sequences,
            "return_state": false,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": false,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "kernel_regularizer": super::keras_regularizer(self.kernel_regularizer),
        })
    }

    /// These arguments from Keras'; refuses what Rill does not do yet, naming it.
    pub(crate) fn from_keras(a: &mut KerasArgs<'_>) -> Result<Self> {
        // `unroll` changes how Keras builds the loop, never what it computes.
        a.get("unroll");
        a.expect(
            "return_state",
            &[json!(false)],
            "Rill's recurrent layers return their output only",
        )?;
        a.get("recurrent_initializer");
        a.expect("recurrent_regularizer", &[], "Rill has no such option")?;
        a.expect("recurrent_constraint", &[], "Rill has no such option")?;
        // Without a mask the outputs at padding steps never arise.
        a.get("zero_output_for_mask");
        Ok(RecurrentConfig {
            units: a.required("units")?,
            activation: a.activation_or("activation", Activation::Tanh)?,
            use_bias: a.value("use_bias", true)?,
            return_sequences: a.value("return_sequences", false)?,
            go_backwards: a.value("go_backwards", false)?,
            stateful: a.value("stateful", false)?,
            dropout: a.number("dropout", Some(0.0))?,
            recurrent_dropout: a.number("recurrent_dropout", Some(0.0))?,
            kernel_regularizer: a.regularizer("kernel_regularizer")?,
            ..RecurrentConfig::new(0)
        })
    }
}

/// The recurrence's form of a Keras activation, or why a recurrent layer cannot take it.
pub(crate) fn squash(kind: &str, what: &str, a: Activation) -> Result<Squash> {
    Ok(match a {
        Activation::Linear => Squash::Linear,
        Activation::Relu => Squash::Relu,
        Activation::Sigmoid => Squash::Sigmoid,
        Activation::Tanh => Squash::Tanh,
        other => {
            return Err(Error::Config(format!(
                "{kind}: {what} '{}' is not among a recurrent cell's (tanh, sigmoid, relu, linear)",
                other.name()
            )))
        }
    })
}

/// Which layer runs which cell: its kind (for errors), its arguments and its cell.
pub(crate) struct LayerCell<'a> {
    pub kind: &'a str,
    pub rnn: &'a RecurrentConfig,
    pub cell: RecurrentCell,
}

/// A recurrent layer's weights and what it carries between calls.
#[derive(Debug, Default)]
pub(crate) struct RecurrentCore {
    /// Kernel (features, gates·units), recurrent kernel (units, gates·units), bias.
    weights: Vec<Variable>,
    /// A stateful layer's last states (h, and an LSTM's c), without their history.
    carried: Mutex<Option<Vec<Tensor>>>,
    /// Draws the input dropout masks.
    rng: Mutex<Option<Generator>>,
}

impl RecurrentCore {
    /// Creates the weights for (steps, features) inputs; `bias` is the bias's initial value.
    pub fn build(
        &mut self,
        rnn: &RecurrentConfig,
        gates: usize,
        features: usize,
        bias: Option<Tensor>,
    ) -> Result<()> {
        let width = gates * rnn.units;
        let kernel = rnn.kernel_initializer.init(&[features, width])?;
        let recurrent = rnn.recurrent_initializer.init(&[rnn.units, width])?;
        self.weights = vec![
            Variable::trainable("kernel", kernel)?,
            Variable::trainable("recurrent_kernel", recurrent)?,
        ];
        if let Some(b) = bias {
            self.weights.push(Variable::trainable("bias", b)?);
        }
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Generator::new(with_global(|g| g.next_seed())));
        Ok(())
    }

    /// The variables: kernel, recurrent kernel, bias.
    pub fn variables(&self) -> Vec<Variable> {
        self.weights.clone()
    }

    /// Forgets a stateful layer's carried states.
    pub fn reset_states(&self) {
        *self.carried.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The kernel's penalty.
    pub fn regularization_loss(&self, r: Option<Regularizer>) -> Result<Option<Tensor>> {
        match (r, self.weights.first()) {
            (Some(r), Some(k)) => Ok(Some(r.penalty(&k.value())?)),
            _ => Ok(None),
        }
    }

    /// Runs the layer on `inputs` — the sequences, then any initial states — with `cell`;
    /// `split_bias` turns the bias variable (if any) into the step inputs' bias and a GRU's
    /// recurrent bias. Over the padding steps of `mask` (batch, steps) the states carry on
    /// unchanged (and so does the output, as Keras' `zero_output_for_mask=False`).
    pub fn call(
        &self,
        LayerCell { kind, rnn, cell }: LayerCell<'_>,
        split_bias: impl Fn(Option<Tensor>) -> Result<(Option<Tensor>, Option<Tensor>)>,
        inputs: &[Tensor],
        mask: Option<&Tensor>,
        training: bool,
    ) -> Result<Tensor> {
        let [kernel, recurrent, ..] = &self.weights[..] else {
            return Err(Error::not_built(kind));
        };
        let states = cell.kind.states();
        let (x, initial) = match inputs {
            [x, initial @ ..] if initial.is_empty() || initial.len() == states => (x, initial),
            _ => {
                return Err(Error::Config(format!(
                    "{kind} takes its sequences and, optionally, {states} initial state{}; found {} inputs",
                    if states == 1 { "" } else { "s" },
                    inputs.len()
                )))
            }
        };
        let &[batch, steps, _] = x.shape() else {
            return Err(Error::Config(format!(
                "{kind} expects inputs (batch, steps, features), found {:?}",
                x.shape()
            )));
        };
        let units = rnn.units;
        let mut x = x.clone();
        let mut mask = mask.cloned();
        if let Some(m) = &mask {
            if m.shape() != [batch, steps] {
                return Err(Error::Config(format!(
                    "{kind}: a mask of shape {:?} for {batch} sequences of {steps} steps",
                    m.shape()
                )));
            }
        }
        if rnn.go_backwards {
            let back = Tensor::from_vec((0..steps as i64).rev().collect::<Vec<_>>(), &[steps])?;
            x = x.index_select(1, &back)?;
            mask = mask.map(|m| m.index_select(1, &back)).transpose()?;
        }
        if training && rnn.dropout > 0.0 {
            x = x.mul(&self.dropout_mask(kind, &[batch, 1, x.shape()[2]], rnn.dropout)?)?;
        }
        let input_kernel = kernel.value();
        let (input_bias, recurrent_bias) = split_bias(self.weights.get(2).map(Variable::value))?;
        let carried = self
            .carried
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let first: Vec<Tensor> = match (initial, carried) {
            ([], Some(c)) if rnn.stateful && c[0].shape()[0] == batch => c,
            ([], Some(c)) if rnn.stateful => {
                return Err(Error::Config(format!(
                    "stateful {kind}: a batch of {batch} sequences follows one of {}; a stateful layer continues each row in the next batch (reset_states first)",
                    c[0].shape()[0]
                )))
            }
            ([], _) => (0..states)
                .map(|_| Tensor::zeros(&[batch, units], x.dtype()))
                .collect(),
            (given, _) => given.to_vec(),
        };
        for s in &first {
            if s.shape() != [batch, units] {
                return Err(Error::Config(format!(
                    "{kind}: an initial state of shape {:?} for {batch} sequences of {units} units",
                    s.shape()
                )));
            }
        }
        // Without return_sequences only the last step leaves the op (and gets a gradient).
        let last_only = !rnn.return_sequences;
        let state_keep = match training && rnn.recurrent_dropout > 0.0 {
            true => Some(self.dropout_mask(kind, &[batch, units], rnn.recurrent_dropout)?),
            false => None,
        };
        // The op makes the projection x·W: in one product when it records gradients, step by
        // step inside the loop when it does not (prediction), never holding all of it.
        let y = x.recurrence(
            &cell,
            &recurrent.value(),
            &first[0],
            RecurrentExtras {
                c0: first.get(1),
                recurrent_bias: recurrent_bias.as_ref(),
                mask: mask.as_ref(),
                input_bias: input_bias.as_ref(),
                last_only,
                state_keep: state_keep.as_ref(),
                input_kernel: Some(&input_kernel),
            },
        )?;
        if rnn.stateful {
            let last = match last_only {
                true => y.clone(),
                false => y.slice(1, steps - 1, steps)?.squeeze(1)?,
            };
            let keep = (0..states)
                .map(|i| Ok(last.slice(-1, i * units, (i + 1) * units)?.detach()))
                .collect::<Result<Vec<_>>>()?;
            *self.carried.lock().unwrap_or_else(|e| e.into_inner()) = Some(keep);
        }
        match states {
            1 => Ok(y),
            _ => Ok(y.slice(-1, 0, units)?),
        }
    }

    /// Keep-or-drop scaled by 1 / (1 - rate), drawn for `shape`.
    fn dropout_mask(&self, kind: &str, shape: &[usize], rate: f64) -> Result<Tensor> {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let rng = rng.as_mut().ok_or_else(|| Error::not_built(kind))?;
        let u = rng.uniform(shape, 0.0, 1.0, DType::F32)?;
        Ok(u.ge(&Tensor::scalar(rate as f32))?
            .to_dtype(DType::F32)?
            .mul_scalar(1.0 / (1.0 - rate))?)
    }
}

/// The cell of a layer of `kind`.
pub(crate) fn cell(
    kind: &str,
    cell: CellKind,
    activation: Activation,
    recurrent_activation: Activation,
) -> Result<RecurrentCell> {
    Ok(RecurrentCell {
        kind: cell,
        activation: squash(kind, "activation", activation)?,
        recurrent_activation: squash(kind, "recurrent_activation", recurrent_activation)?,
    })
}

/// The rows of a (features, gates·units) kernel's gate blocks in `order` — Keras' blocks
/// rearranged for ONNX — transposed to ONNX's (1, gates·units, features).
pub(crate) fn onnx_gates(kernel: &Tensor, units: usize, order: &[usize]) -> Result<Tensor> {
    let blocks = order
        .iter()
        .map(|&b| kernel.slice(-1, b * units, (b + 1) * units))
        .collect::<rill_core::Result<Vec<_>>>()?;
    let t = Tensor::concat(&blocks, -1)?.transpose(0, 1)?.contiguous();
    let s = t.shape().to_vec();
    Ok(t.reshape(&[1, s[0], s[1]])?)
}

/// A bias vector's gate blocks in `order`.
pub(crate) fn onnx_bias_blocks(bias: &Tensor, units: usize, order: &[usize]) -> Result<Tensor> {
    let blocks = order
        .iter()
        .map(|&b| bias.slice(-1, b * units, (b + 1) * units))
        .collect::<rill_core::Result<Vec<_>>>()?;
    Ok(Tensor::concat(&blocks, -1)?)
}

/// ONNX's name of a recurrent activation.
pub(crate) fn onnx_activation(a: Activation) -> Result<String> {
    Ok(match a {
        Activation::Tanh => "Tanh",
        Activation::Sigmoid => "Sigmoid",
        Activation::Relu => "Relu",
        Activation::Linear => "Affine",
        other => {
            return Err(Error::Config(format!(
                "a recurrent activation '{}' has no ONNX form",
                other.name()
            )))
        }
    }
    .into())
}

/// `x` (batch, steps, …) with its steps in reverse order: an ONNX `Slice` of step −1, named
/// after `base` within the layer.
pub(crate) fn onnx_reversed_steps(
    l: &super::OnnxLayer<'_>,
    g: &mut dyn super::OnnxGraph,
    x: String,
    base: &str,
) -> String {
    let (starts, ends) = (
        g.int64s(&l.part("last"), &[-1]),
        // Before the first step: ONNX clamps any end below −steps there.
        g.int64s(&l.part("before_first"), &[i64::MIN]),
    );
    let (axes, steps) = (
        g.int64s(&l.part("time_axis"), &[1]),
        g.int64s(&l.part("backwards"), &[-1]),
    );
    g.node(
        "Slice",
        vec![x, starts, ends, axes, steps],
        &l.part(base),
        vec![],
    )
}

/// Writes an ONNX `LSTM`, `GRU` or `RNN` node over the layer's (batch, steps, features) input:
/// time-major in, the outputs back to Rill's layout, the initial states from the layer's other
/// inputs (batch, units) when it has them. `w`, `r`, `b` are ONNX's (gates already in ONNX's
/// order); `attrs` the op's own attributes.
pub(crate) fn to_onnx_recurrence(
    op: &str,
    rnn: &RecurrentConfig,
    l: &super::OnnxLayer<'_>,
    g: &mut dyn super::OnnxGraph,
    [w, r, b]: [Tensor; 3],
    mut attrs: Vec<super::OnnxAttr>,
) -> Result<String> {
    use super::OnnxAttr::{Int, Ints};
    let mut x = l.input.clone();
    if rnn.go_backwards {
        x = onnx_reversed_steps(l, g, x, "reversed");
    }
    let x = g.node(
        "Transpose",
        vec![x],
        &l.part("time_major"),
        vec![Ints("perm", vec![1, 0, 2])],
    );
    let mut inputs = vec![
        x,
        g.weight(&l.part("W"), &w)?,
        g.weight(&l.part("R"), &r)?,
        g.weight(&l.part("B"), &b)?,
        String::new(),
    ];
    if l.inputs.len() == 1 {
        inputs.pop(); // no sequence_lens, and no initial states after it
    }
    let zero = g.int64s(&l.part("direction_axis"), &[0]);
    for (i, state) in l.inputs.iter().skip(1).enumerate() {
        let name = if i == 0 { "initial_h" } else { "initial_c" };
        inputs.push(g.node(
            "Unsqueeze",
            vec![state.clone(), zero.clone()],
            &l.part(name),
            vec![],
        ));
    }
    attrs.push(Int("hidden_size", rnn.units as i64));
    let y = g.node(op, inputs, &l.part("loop"), attrs);
    if rnn.return_sequences {
        // Y is (steps, directions, batch, units).
        let one = g.int64s(&l.part("direction_axis_of_y"), &[1]);
        let y = g.node("Squeeze", vec![y, one], &l.part("steps"), vec![]);
        Ok(g.node(
            "Transpose",
            vec![y],
            l.name,
            vec![Ints("perm", vec![1, 0, 2])],
        ))
    } else {
        // The last step's h: Y's last step (Y_h would need the node's second output).
        let (starts, ends) = (
            g.int64s(&l.part("last_step"), &[-1]),
            g.int64s(&l.part("end"), &[i64::MAX]),
        );
        let axes = g.int64s(&l.part("step_axis"), &[0]);
        let last = g.node(
            "Slice",
            vec![y, starts, ends, axes],
            &l.part("last"),
            vec![],
        );
        let squeeze = g.int64s(&l.part("squeezed_axes"), &[0, 1]);
        Ok(g.node("Squeeze", vec![last, squeeze], l.name, vec![]))
    }
}

/// The builder methods every recurrent layer has (`Lstm::new(64).return_sequences(true)`),
/// setting its [`RecurrentConfig`] at `self.config.rnn`.
macro_rules! recurrent_builders {
    () => {
        /// Outputs every step's state, not only the last.
        pub fn return_sequences(mut self, on: bool) -> Self {
            self.config.rnn.return_sequences = on;
            self
        }
        /// Runs over the steps last to first (and outputs in that order).
        pub fn go_backwards(mut self, on: bool) -> Self {
            self.config.rnn.go_backwards = on;
            self
        }
        /// Carries the last states of each batch over to the next.
        pub fn stateful(mut self, on: bool) -> Self {
            self.config.rnn.stateful = on;
            self
        }
        /// Drops this fraction of input features while training.
        pub fn dropout(mut self, rate: f64) -> Self {
            self.config.rnn.dropout = rate;
            self
        }
        /// Drops this fraction of the state's units from the recurrent product while training.
        pub fn recurrent_dropout(mut self, rate: f64) -> Self {
            self.config.rnn.recurrent_dropout = rate;
            self
        }
        /// Sets the candidate state's activation.
        pub fn activation(mut self, a: $crate::Activation) -> Self {
            self.config.rnn.activation = a;
            self
        }
        /// Turns the bias on or off.
        pub fn use_bias(mut self, on: bool) -> Self {
            self.config.rnn.use_bias = on;
            self
        }
        /// Sets the input kernel's initializer.
        pub fn kernel_initializer(mut self, i: $crate::Initializer) -> Self {
            self.config.rnn.kernel_initializer = i;
            self
        }
        /// Sets the recurrent kernel's initializer.
        pub fn recurrent_initializer(mut self, i: $crate::Initializer) -> Self {
            self.config.rnn.recurrent_initializer = i;
            self
        }
        /// Adds a penalty on the input kernel to the loss.
        pub fn kernel_regularizer(mut self, r: $crate::layers::Regularizer) -> Self {
            self.config.rnn.kernel_regularizer = Some(r);
            self
        }
    };
}
pub(crate) use recurrent_builders;

/// The [`Layer`](super::Layer) methods every recurrent layer shares, for one that takes its
/// sequences and, optionally, `$states` initial states (h, and an LSTM's c), each (units) per
/// sample, and runs by its own `run(inputs, mask, training)`: shapes, calls with and without a
/// mask, the mask it passes on, its variables, penalty and carried states.
macro_rules! recurrent_layer {
    ($states:expr) => {
        fn compute_output_shape(&self, input_shape: &[usize]) -> $crate::Result<Vec<usize>> {
            self.config.rnn.output_shape(<Self as $crate::layers::Configurable>::KIND, input_shape)
        }
        fn variables(&self) -> Vec<$crate::Variable> {
            self.core.variables()
        }
        fn regularization_loss(&self) -> $crate::Result<Option<rill_core::Tensor>> {
            self.core.regularization_loss(self.config.rnn.kernel_regularizer)
        }
        fn output_shape_for(&self, shapes: &[Vec<usize>]) -> $crate::Result<Vec<usize>> {
            let units = self.config.rnn.units;
            match shapes {
                [x] => self.compute_output_shape(x),
                [x, states @ ..] if states.len() == $states => {
                    if let Some(s) = states.iter().find(|s| s[..] != [units]) {
                        return Err($crate::Error::Config(format!(
                            "{}: an initial state of per-sample shape {s:?}; the layer's states are ({units})",
                            <Self as $crate::layers::Configurable>::KIND
                        )));
                    }
                    self.compute_output_shape(x)
                }
                _ => Err($crate::Error::Config(format!(
                    "{} takes its sequences and, optionally, {} initial state(s); found {} inputs",
                    <Self as $crate::layers::Configurable>::KIND,
                    $states,
                    shapes.len()
                ))),
            }
        }
        fn build_for(&mut self, shapes: &[Vec<usize>]) -> $crate::Result<()> {
            self.output_shape_for(shapes)?;
            self.build(&shapes[0])
        }
        fn call(&self, x: &rill_core::Tensor, training: bool) -> $crate::Result<rill_core::Tensor> {
            self.run(std::slice::from_ref(x), None, training)
        }
        fn call_on(
            &self,
            inputs: &[rill_core::Tensor],
            training: bool,
        ) -> $crate::Result<rill_core::Tensor> {
            self.run(inputs, None, training)
        }
        fn call_masked(
            &self,
            inputs: &[rill_core::Tensor],
            mask: &rill_core::Tensor,
            training: bool,
        ) -> $crate::Result<rill_core::Tensor> {
            self.run(inputs, Some(mask), training)
        }
        fn output_mask(
            &self,
            _inputs: &[rill_core::Tensor],
            masks: &[Option<rill_core::Tensor>],
        ) -> $crate::Result<Option<rill_core::Tensor>> {
            // Every step's output keeps its step's mask, as in Keras; the last step alone has none.
            match self.config.rnn.return_sequences {
                true => $crate::layers::pass_mask(masks),
                false => Ok(None),
            }
        }
        fn reset_states(&self) {
            self.core.reset_states();
        }
    };
}
pub(crate) use recurrent_layer;

/// What an ONNX `LSTM`, `GRU` or `RNN` node holds, in Keras' layout: read by
/// [`from_onnx_recurrence`].
pub(crate) struct OnnxRecurrence {
    /// Every step's output (the importer shapes Y around it), forward or backward.
    pub rnn: RecurrentConfig,
    /// Kernel (features, gates·units), gates in Keras' order.
    pub kernel: Tensor,
    /// Recurrent kernel (units, gates·units).
    pub recurrent: Tensor,
    /// The input bias and the recurrent bias (gates·units each), if the node has `B`.
    pub biases: Option<(Tensor, Tensor)>,
    /// The activations named by `activations` (ONNX's defaults when absent).
    pub activations: Vec<Activation>,
}

/// Reads an ONNX recurrent node of `gates` gate blocks whose ONNX order is `order` (Keras'
/// block k is ONNX's block `order[k]`), with ONNX's `defaults` activations.
pub(crate) fn from_onnx_recurrence(
    node: &dyn super::OnnxNode,
    gates: usize,
    order: &[usize],
    defaults: &[Activation],
) -> Result<OnnxRecurrence> {
    use super::{onnx_computed, onnx_constant, onnx_unsupported};
    let x = onnx_computed(node, 0)?;
    let w = onnx_constant(node, 1, "W")?;
    let r = onnx_constant(node, 2, "R")?;
    let units = node.int("hidden_size", 0)?.max(0) as usize;
    let features = x.last().copied().unwrap_or(0);
    let width = gates * units;
    if w.shape() != [1, width, features] || r.shape() != [1, width, units] {
        return Err(onnx_unsupported(
            node,
            format!(
                "W {:?} and R {:?} for {features} features and hidden_size {units} (one direction: a bidirectional op imports as Bidirectional, not yet supported)",
                w.shape(),
                r.shape()
            ),
        ));
    }
    let direction = node
        .string("direction")?
        .unwrap_or_else(|| "forward".into());
    let go_backwards = match direction.as_str() {
        "forward" => false,
        "reverse" => true,
        other => {
            return Err(onnx_unsupported(
                node,
                format!("direction '{other}' (Rill reads forward and reverse)"),
            ))
        }
    };
    if node.float("clip", 0.0)? != 0.0 {
        return Err(onnx_unsupported(node, "a cell clip"));
    }
    // (1, gates·units, n) in ONNX's order → (n, gates·units) in Keras'.
    let keras = |t: &Tensor| -> Result<Tensor> {
        let t = t.squeeze(0)?.transpose(0, 1)?.contiguous();
        let blocks = order
            .iter()
            .map(|&b| t.slice(-1, b * units, (b + 1) * units))
            .collect::<rill_core::Result<Vec<_>>>()?;
        Ok(Tensor::concat(&blocks, -1)?)
    };
    let biases = match node.constant(3)? {
        None => None,
        Some(b) if b.shape() == [1, 2 * width] => {
            let b = b.reshape(&[2 * width])?;
            let reorder = |t: Tensor| -> Result<Tensor> { onnx_bias_blocks(&t, units, order) };
            Some((
                reorder(b.slice(0, 0, width)?)?,
                reorder(b.slice(0, width, 2 * width)?)?,
            ))
        }
        Some(b) => {
            return Err(onnx_unsupported(
                node,
                format!("B of shape {:?}", b.shape()),
            ))
        }
    };
    let names = node.strings("activations")?;
    let activations = match names {
        None => defaults.to_vec(),
        Some(names) => {
            let alphas = node.floats("activation_alpha")?.unwrap_or_default();
            let betas = node.floats("activation_beta")?.unwrap_or_default();
            names
                .iter()
                .enumerate()
                .map(|(i, n)| match n.to_ascii_lowercase().as_str() {
                    "tanh" => Ok(Activation::Tanh),
                    "sigmoid" => Ok(Activation::Sigmoid),
                    "relu" => Ok(Activation::Relu),
                    "affine"
                        if alphas.get(i).copied().unwrap_or(1.0) == 1.0
                            && betas.get(i).copied().unwrap_or(0.0) == 0.0 =>
                    {
                        Ok(Activation::Linear)
                    }
                    _ => Err(onnx_unsupported(
                        node,
                        format!("the activation '{n}' (Rill's cells take Tanh, Sigmoid, Relu and the identity)"),
                    )),
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    if activations.len() != defaults.len() {
        return Err(onnx_unsupported(
            node,
            format!("{} activations for one direction", activations.len()),
        ));
    }
    let mut rnn = RecurrentConfig::new(units);
    rnn.return_sequences = true;
    rnn.go_backwards = go_backwards;
    rnn.use_bias = biases.is_some();
    Ok(OnnxRecurrence {
        rnn,
        kernel: keras(&w)?,
        recurrent: keras(&r)?,
        biases,
        activations,
    })
}
