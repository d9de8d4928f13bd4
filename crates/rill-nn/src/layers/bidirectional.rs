//! `Bidirectional`: a recurrent layer run over the sequence both ways, as Keras'
//! `layers.Bidirectional` — a copy of the layer runs backwards, its outputs put back in the
//! input's order, and the two are merged (`concat`, `sum`, `mul` or `ave`). The wrapped layer is
//! any registered layer with a `go_backwards` argument (`SimpleRNN`, `LSTM`, `GRU`).

use super::{Configurable, KerasArgs, KerasForm, Layer, OnnxForm, OnnxGraph, OnnxLayer};
use crate::{Error, Result, Variable};
use rill_core::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How the two directions' outputs are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMode {
    /// Side by side on the last axis (twice the units).
    #[default]
    Concat,
    /// Added.
    Sum,
    /// Multiplied.
    Mul,
    /// Averaged.
    Ave,
}

/// A wrapped layer: its kind and config.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrappedLayer {
    /// The layer's kind (`LSTM`).
    pub class_name: String,
    /// Its config.
    pub config: Value,
}

/// [`Bidirectional`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BidirectionalConfig {
    /// The forward layer (the backward one is its copy running the other way).
    pub layer: WrappedLayer,
    /// How the two outputs are combined.
    #[serde(default)]
    pub merge_mode: MergeMode,
}

/// A recurrent layer over the sequence in both directions, outputs merged.
///
/// ```
/// use rill_nn::prelude::*;
/// use rill_nn::layers::{Bidirectional, Lstm};
/// let model = Sequential::new(vec![
///     Box::new(Bidirectional::new(Lstm::new(8).return_sequences(true))?) as Box<dyn Layer>,
///     Box::new(Bidirectional::new(Lstm::new(4))?),
/// ])
/// .with_input_shape(&[12, 3])?;
/// assert_eq!(model.output_shape(), Some(vec![8]));
/// # Ok::<(), rill_nn::Error>(())
/// ```
pub struct Bidirectional {
    config: BidirectionalConfig,
    forward: Box<dyn Layer>,
    backward: Box<dyn Layer>,
}

impl std::fmt::Debug for Bidirectional {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bidirectional")
            .field("config", &self.config)
            .finish()
    }
}

impl Bidirectional {
    /// Wraps `layer` (a recurrent layer), merging by concatenation.
    pub fn new<L: Configurable>(layer: L) -> Result<Self> {
        let config = serde_json::to_value(layer.get_config())
            .map_err(|e| Error::Config(format!("Bidirectional: {e}")))?;
        Self::from_config(BidirectionalConfig {
            layer: WrappedLayer {
                class_name: L::KIND.into(),
                config,
            },
            merge_mode: MergeMode::Concat,
        })
    }
    /// Sets how the two directions' outputs are combined.
    pub fn merge_mode(mut self, mode: MergeMode) -> Self {
        self.config.merge_mode = mode;
        self
    }
    fn return_sequences(&self) -> bool {
        self.config.layer.config["return_sequences"] == true
    }
}

/// The backward copy's config: the forward one's, the other way.
fn reversed(c: &Value) -> Result<Value> {
    let mut back = c.clone();
    match back.get("go_backwards").and_then(Value::as_bool) {
        Some(b) => back["go_backwards"] = json!(!b),
        None => return Err(Error::Config(
            "Bidirectional wraps a recurrent layer (one with go_backwards: SimpleRNN, LSTM, GRU)"
                .into(),
        )),
    }
    if back["stateful"] == true {
        return Err(Error::Config(
            "Bidirectional: a stateful wrapped layer is not supported".into(),
        ));
    }
    Ok(back)
}

impl Configurable for Bidirectional {
    const KIND: &'static str = "Bidirectional";
    type Config = BidirectionalConfig;
    fn get_config(&self) -> BidirectionalConfig {
        self.config.clone()
    }
    fn from_config(config: BidirectionalConfig) -> Result<Self> {
        let w = &config.layer;
        let back = reversed(&w.config)?;
        let forward = super::from_config(&w.class_name, &w.config)?;
        let backward = super::from_config(&w.class_name, &back)?;
        Ok(Bidirectional {
            config,
            forward,
            backward,
        })
    }
    fn examples() -> Vec<super::LayerExample<BidirectionalConfig>> {
        use super::{Gru, LayerExample as E, Lstm, SimpleRnn};
        fn wrap<L: Configurable>(layer: L, merge_mode: MergeMode) -> BidirectionalConfig {
            BidirectionalConfig {
                layer: WrappedLayer {
                    class_name: L::KIND.into(),
                    // A config that cannot be written fails the layer test visibly.
                    config: serde_json::to_value(layer.get_config()).unwrap_or(Value::Null),
                },
                merge_mode,
            }
        }
        vec![
            E::new(wrap(Lstm::new(3), MergeMode::Concat), &[5, 2]),
            E::new(
                wrap(Gru::new(4).return_sequences(true), MergeMode::Sum),
                &[4, 3],
            ),
            E::new(
                wrap(SimpleRnn::new(2).return_sequences(true), MergeMode::Ave),
                &[3, 2],
            ),
            E::new(wrap(Gru::new(2), MergeMode::Mul), &[3, 2]),
        ]
    }
}

impl Layer for Bidirectional {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut shape = self.forward.compute_output_shape(input_shape)?;
        if self.config.merge_mode == MergeMode::Concat {
            if let Some(last) = shape.last_mut() {
                *last *= 2;
            }
        }
        Ok(shape)
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.forward.build(input_shape)?;
        self.backward.build(input_shape)
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.run(x, None, training)
    }
    fn call_masked(&self, inputs: &[Tensor], mask: &Tensor, training: bool) -> Result<Tensor> {
        match inputs {
            [x] => self.run(x, Some(mask), training),
            _ => self.call_on(inputs, training),
        }
    }
    fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        match self.return_sequences() {
            true => super::pass_mask(masks),
            false => Ok(None),
        }
    }
    fn variables(&self) -> Vec<Variable> {
        let mut v = self.forward.variables();
        v.extend(self.backward.variables());
        v
    }
    fn variable_names(&self) -> Vec<String> {
        let names = |prefix: &str, l: &dyn Layer| {
            l.variable_names()
                .into_iter()
                .map(|n| format!("{prefix}/{n}"))
                .collect::<Vec<_>>()
        };
        let mut v = names("forward", self.forward.as_ref());
        v.extend(names("backward", self.backward.as_ref()));
        v
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        match (
            self.forward.regularization_loss()?,
            self.backward.regularization_loss()?,
        ) {
            (Some(a), Some(b)) => Ok(Some(a.add(&b)?)),
            (a, b) => Ok(a.or(b)),
        }
    }
    fn reset_states(&self) {
        self.forward.reset_states();
        self.backward.reset_states();
    }
}

impl Bidirectional {
    /// Both directions on `x` (each skipping `mask`'s padding), merged.
    fn run(&self, x: &Tensor, mask: Option<&Tensor>, training: bool) -> Result<Tensor> {
        let one = std::slice::from_ref(x);
        let (y, mut back) = match mask {
            Some(m) => (
                self.forward.call_masked(one, m, training)?,
                self.backward.call_masked(one, m, training)?,
            ),
            None => (
                self.forward.call(x, training)?,
                self.backward.call(x, training)?,
            ),
        };
        if self.return_sequences() {
            // The backward layer's outputs come last step first: back in the input's order.
            let steps = back.shape()[1];
            let order: Vec<i64> = (0..steps as i64).rev().collect();
            back = back.index_select(1, &Tensor::from_vec(order, &[steps])?)?;
        }
        Ok(match self.config.merge_mode {
            MergeMode::Concat => Tensor::concat(&[y, back], -1)?,
            MergeMode::Sum => y.add(&back)?,
            MergeMode::Mul => y.mul(&back)?,
            MergeMode::Ave => y.add(&back)?.mul_scalar(0.5)?,
        })
    }
}

/// ONNX: each direction as its layer's own operator (the backward one reading the sequence
/// reversed), the backward outputs put back in order, then the merge.
impl OnnxForm for Bidirectional {
    fn to_onnx(c: &BidirectionalConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let kind = &c.layer.class_name;
        let export = super::onnx_form(kind)
            .ok_or_else(|| Error::Config(format!("Bidirectional: {kind} has no ONNX form")))?;
        let half = l.weights.len() / 2;
        let part = |name: String, config: &Value, weights: &[Tensor], g: &mut dyn OnnxGraph| {
            let layer = OnnxLayer {
                name: &name,
                input: l.input.clone(),
                inputs: vec![l.input.clone()],
                input_shape: l.input_shape,
                input_shapes: vec![l.input_shape.to_vec()],
                weights: weights.to_vec(),
            };
            export(config, layer, g)
        };
        let y = part(l.part("forward"), &c.layer.config, &l.weights[..half], g)?;
        let back_config = reversed(&c.layer.config)?;
        let mut back = part(l.part("backward"), &back_config, &l.weights[half..], g)?;
        if c.layer.config["return_sequences"] == true {
            back = super::recurrent::onnx_reversed_steps(&l, g, back, "backward_in_order");
        }
        Ok(match c.merge_mode {
            MergeMode::Concat => g.node(
                "Concat",
                vec![y, back],
                l.name,
                vec![super::OnnxAttr::Int("axis", -1)],
            ),
            MergeMode::Sum => g.node("Add", vec![y, back], l.name, vec![]),
            MergeMode::Mul => g.node("Mul", vec![y, back], l.name, vec![]),
            MergeMode::Ave => {
                let sum = g.node("Add", vec![y, back], &l.part("sum"), vec![]);
                let half = g.scalar(&l.part("half"), 0.5);
                g.node("Mul", vec![sum, half], l.name, vec![])
            }
        })
    }
}

/// Keras: `keras.layers.Bidirectional`, the wrapped layer (and its backward copy) in Keras'
/// form; its weights in `forward_layer/…` and `backward_layer/…`.
impl KerasForm for Bidirectional {
    const KERAS_POSITIONAL: &'static [&'static str] = &["layer"];
    fn to_keras(c: &BidirectionalConfig) -> Value {
        let kind = &c.layer.class_name;
        let inner = |config: &Value, name: &str| {
            let mut args = super::keras_form(kind)
                .and_then(|f| (f.to_keras)(config).ok())
                .unwrap_or(Value::Null);
            args["name"] = json!(name);
            json!({"module": "keras.layers", "class_name": kind, "config": args, "registered_name": null})
        };
        let lower = kind.to_lowercase();
        let back = reversed(&c.layer.config).unwrap_or(Value::Null);
        json!({
            "merge_mode": c.merge_mode,
            "layer": inner(&c.layer.config, &format!("forward_{lower}")),
            "backward_layer": inner(&back, &format!("backward_{lower}")),
        })
    }
    fn from_keras(a: &mut KerasArgs<'_>, rank: usize) -> Result<BidirectionalConfig> {
        // Absent, it is Keras' default (concat); null asks for the two outputs as a list.
        let merge_mode = match a.get("merge_mode") {
            Value::Null if !a.given("merge_mode") => MergeMode::Concat,
            Value::Null => {
                return Err(a.bad(
                    "merge_mode",
                    &Value::Null,
                    "Rill's Bidirectional merges the two outputs (concat, sum, mul or ave)",
                ))
            }
            _ => a.value("merge_mode", MergeMode::Concat)?,
        };
        let layer = read_wrapped(a.get("layer"), rank)?;
        let backward = a.get("backward_layer");
        if !backward.is_null() {
            let back = read_wrapped(backward, rank)?;
            if back.class_name != layer.class_name || back.config != reversed(&layer.config)? {
                return Err(a.bad(
                    "backward_layer",
                    backward,
                    "Rill's backward layer is the forward one running the other way",
                ));
            }
        }
        Ok(BidirectionalConfig { layer, merge_mode })
    }
    fn keras_weight_groups(c: &BidirectionalConfig, weights: usize) -> super::WeightGroups {
        let kind = &c.layer.class_name;
        let half = weights / 2;
        let inner = super::keras_form(kind)
            .and_then(|f| (f.weight_groups)(&c.layer.config, half).ok())
            .unwrap_or_else(|| vec![(String::new(), half)]);
        ["forward_layer", "backward_layer"]
            .iter()
            .flat_map(|side| {
                inner.iter().map(move |(path, n)| match path.as_str() {
                    "" => (side.to_string(), *n),
                    p => (format!("{side}/{p}"), *n),
                })
            })
            .collect()
    }
}

/// A wrapped layer as Keras writes one (`{"class_name": "LSTM", "config": {…}}`), read by its
/// own Keras form.
fn read_wrapped(v: &Value, rank: usize) -> Result<WrappedLayer> {
    let class = v["class_name"].as_str().unwrap_or_default();
    let form = super::keras_form(class).ok_or_else(|| {
        Error::Config(format!(
            "Bidirectional wraps '{class}', which Rill has no Keras form of"
        ))
    })?;
    let empty = serde_json::Map::new();
    let args = v["config"].as_object().unwrap_or(&empty);
    let name = args.get("name").and_then(Value::as_str).unwrap_or(class);
    let mut inner = KerasArgs::new(class, name, args);
    let config = (form.from_keras)(&mut inner, rank)?;
    inner.finish()?;
    Ok(WrappedLayer {
        class_name: class.into(),
        config,
    })
}
