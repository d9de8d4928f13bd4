//! A layer's Keras form: its Keras 3 arguments both ways, kept in the layer's own file beside
//! its call ([`KerasForm`]). Reading goes through [`KerasArgs`], which takes Keras' arguments
//! one by one and refuses any argument Rill cannot honour — naming the layer and the argument —
//! rather than build a silently different layer. rill-keras reads and writes the files around.

use super::{Configurable, Regularizer};
use crate::{Activation, Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Arguments that never change what a loaded layer computes: names, initializers (the weights
/// come from the file), seeds.
pub const KERAS_IGNORED: &[&str] = &[
    "name",
    "trainable",
    "dtype",
    "seed",
    "kernel_initializer",
    "bias_initializer",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "embeddings_initializer",
    "input_length",
    "renorm_momentum",
    "renorm_clipping",
    "lora_alpha",
];

/// One Keras layer's arguments, read one by one; whatever is left must be at its default.
pub struct KerasArgs<'a> {
    class: &'a str,
    name: &'a str,
    config: &'a Map<String, Value>,
    used: HashSet<&'a str>,
    assets: Option<&'a std::collections::BTreeMap<String, Vec<u8>>>,
}

impl<'a> KerasArgs<'a> {
    /// The arguments of the Keras layer `name` of class `class`.
    pub fn new(class: &'a str, name: &'a str, config: &'a Map<String, Value>) -> Self {
        KerasArgs {
            class,
            name,
            config,
            used: HashSet::new(),
            assets: None,
        }
    }
    /// With the files Keras keeps in the layer's assets folder of a `.keras` file (a lookup
    /// layer's `vocabulary.txt`), by their path below that folder.
    pub fn with_assets(mut self, assets: &'a std::collections::BTreeMap<String, Vec<u8>>) -> Self {
        self.assets = Some(assets);
        self
    }
    /// The text of the asset `name`, if the file has it (invalid UTF-8 is replaced).
    pub fn asset_text(&self, name: &str) -> Option<String> {
        let bytes = self.assets?.get(name)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
    /// Argument `key` (null when absent), marked as read.
    pub fn get(&mut self, key: &'a str) -> &'a Value {
        self.used.insert(key);
        self.config.get(key).unwrap_or(&Value::Null)
    }
    /// Whether argument `key` is written at all (`null` included): for the few arguments
    /// whose `null` means something other than their default.
    pub fn given(&self, key: &str) -> bool {
        self.config.contains_key(key)
    }
    /// The error for an argument Rill cannot honour, and why.
    pub fn bad(&self, key: &str, value: &Value, why: &str) -> Error {
        Error::Config(format!(
            "layer '{}' ({}): {key}={value} is not supported: {why}",
            self.name, self.class
        ))
    }
    /// The argument must be one of `allowed` (a missing argument counts as its default).
    pub fn expect(&mut self, key: &'a str, allowed: &[Value], why: &str) -> Result<()> {
        let v = self.get(key);
        if v.is_null() || allowed.contains(v) {
            Ok(())
        } else {
            Err(self.bad(key, v, why))
        }
    }
    /// Argument `key` as a `T` (sizes, pairs, paddings as Keras writes them); a missing one is
    /// `default`.
    pub fn value<T: DeserializeOwned>(&mut self, key: &'a str, default: T) -> Result<T> {
        let v = self.get(key);
        if v.is_null() {
            return Ok(default);
        }
        serde_json::from_value(v.clone()).map_err(|e| self.bad(key, v, &e.to_string()))
    }
    /// A size Keras writes as a number or as a list of one (a 1-D layer's `kernel_size`,
    /// `strides`, `pool_size`); a missing one is `default`.
    pub fn size(&mut self, key: &'a str, default: Option<usize>) -> Result<usize> {
        let v = self.get(key);
        let one = match v.as_array() {
            Some(list) if list.len() == 1 => &list[0],
            _ => v,
        };
        match (one.as_u64(), default) {
            (Some(n), _) => Ok(n as usize),
            (None, Some(d)) if v.is_null() => Ok(d),
            _ => Err(self.bad(key, v, "a size (or a list of one) is expected")),
        }
    }
    /// A 2-D window size Keras takes as one number or a pair (`kernel_size=3` is `(3, 3)`); a
    /// missing one is `default`, or an error when there is none.
    pub fn pair(
        &mut self,
        key: &'a str,
        default: Option<(usize, usize)>,
    ) -> Result<(usize, usize)> {
        let v = self.get(key);
        if let Some(n) = v.as_u64() {
            return Ok((n as usize, n as usize));
        }
        match (
            v.as_array()
                .map(|a| a.iter().map(Value::as_u64).collect::<Vec<_>>()),
            default,
        ) {
            (Some(p), _) if p.len() == 2 && p.iter().all(Option::is_some) => {
                Ok((p[0].unwrap_or(0) as usize, p[1].unwrap_or(0) as usize))
            }
            (None, Some(d)) if v.is_null() => Ok(d),
            _ => Err(self.bad(key, v, "a size or a pair of sizes is expected")),
        }
    }
    /// A required argument as a `T`.
    pub fn required<T: DeserializeOwned>(&mut self, key: &'a str) -> Result<T> {
        let v = self.get(key);
        serde_json::from_value(v.clone()).map_err(|e| self.bad(key, v, &e.to_string()))
    }
    /// A number argument; a missing one is `default` (Keras' default), or an error when there
    /// is none.
    pub fn number(&mut self, key: &'a str, default: Option<f64>) -> Result<f64> {
        let v = self.get(key);
        match (v.as_f64(), default) {
            (Some(x), _) => Ok(x),
            (None, Some(d)) if v.is_null() => Ok(d),
            _ => Err(self.bad(key, v, "a number is expected")),
        }
    }
    /// The `padding` argument: `valid` (the default) or `same`.
    pub fn padding(&mut self) -> Result<rill_core::Padding> {
        match self.get("padding") {
            Value::Null => Ok(rill_core::Padding::Valid),
            v if v == "valid" => Ok(rill_core::Padding::Valid),
            v if v == "same" => Ok(rill_core::Padding::Same),
            v => Err(self.bad("padding", v, "Rill pads \"valid\" or \"same\"")),
        }
    }
    /// The arguments Dense and Conv2D share: activation, bias and kernel regularizer (the
    /// initializers stay Keras' defaults: a file's weights replace what they make).
    pub fn kernel_bias(&mut self) -> Result<super::KernelBiasConfig> {
        Ok(super::KernelBiasConfig {
            activation: self.activation()?,
            use_bias: self.value("use_bias", true)?,
            kernel_regularizer: self.regularizer("kernel_regularizer")?,
            ..Default::default()
        })
    }
    /// The `activation` argument.
    pub fn activation(&mut self) -> Result<Activation> {
        self.activation_of("activation")
    }
    /// An activation argument whose default is not linear (a recurrent layer's `tanh`
    /// activation and `sigmoid` gates); missing or null, it is `default`.
    pub fn activation_or(&mut self, key: &'a str, default: Activation) -> Result<Activation> {
        match self.get(key) {
            Value::Null => Ok(default),
            _ => self.activation_of(key),
        }
    }
    /// An activation argument (`activation`, a recurrent layer's `recurrent_activation`);
    /// missing, it is linear.
    pub fn activation_of(&mut self, key: &'a str) -> Result<Activation> {
        match self.get(key) {
            Value::Null => Ok(Activation::Linear),
            Value::String(s) => Activation::from_name(s).map_err(|_| {
                self.bad(key, &json!(s), "Rill's activations are linear, relu, sigmoid, tanh, softmax, gelu, elu, leaky_relu and softplus")
            }),
            v => Err(self.bad(key, v, "an activation's name is expected")),
        }
    }
    /// A regularizer argument: Keras' L1, L2 or L1L2.
    pub fn regularizer(&mut self, key: &'a str) -> Result<Option<Regularizer>> {
        let v = self.get(key);
        match v["class_name"].as_str() {
            _ if v.is_null() => Ok(None),
            Some("L1" | "L2" | "L1L2") => Ok(Regularizer::from_factors(
                v["config"]["l1"].as_f64().unwrap_or(0.0),
                v["config"]["l2"].as_f64().unwrap_or(0.0),
            )),
            _ => Err(self.bad(key, v, "only L1, L2 and L1L2 regularizers are")),
        }
    }
    /// `data_format` must be channels-last (or absent).
    pub fn channels_last(&mut self) -> Result<()> {
        self.expect(
            "data_format",
            &[json!("channels_last")],
            "Rill's layers are channels-last",
        )
    }
    /// Argument `key` must name the last axis, however Keras wrote it for inputs of per-sample
    /// rank `rank` (missing, it is Keras' default, -1).
    pub fn last_axis(&mut self, key: &'a str, rank: usize) -> Result<()> {
        let v = self.get(key);
        let last = |a: &Value| a.as_i64().is_some_and(|a| a == -1 || a == rank as i64);
        let ok =
            v.is_null() || last(v) || v.as_array().is_some_and(|a| a.len() == 1 && last(&a[0]));
        if ok {
            Ok(())
        } else {
            Err(self.bad(
                key,
                v,
                "Rill normalises, joins and takes softmaxes over the last axis",
            ))
        }
    }
    /// Every argument not read must be null, false, zero or ignorable.
    pub fn finish(self) -> Result<()> {
        for (k, v) in self.config {
            let neutral = v.is_null() || *v == json!(false) || *v == json!(0) || *v == json!(0.0);
            if !self.used.contains(k.as_str()) && !KERAS_IGNORED.contains(&k.as_str()) && !neutral {
                return Err(self.bad(k, v, "Rill has no such option for this layer"));
            }
        }
        Ok(())
    }
}

/// `Padding` as Keras writes it.
pub fn keras_padding(p: rill_core::Padding) -> Value {
    json!(match p {
        rill_core::Padding::Valid => "valid",
        rill_core::Padding::Same => "same",
    })
}

/// `args` with the arguments Dense and the convolutions share — activation, bias and kernel
/// regularizer — as Keras writes them: the other side of [`KerasArgs::kernel_bias`].
pub fn with_keras_kernel_bias(mut args: Value, c: &super::KernelBiasConfig) -> Value {
    args["activation"] = json!(c.activation.name());
    args["use_bias"] = json!(c.use_bias);
    args["kernel_regularizer"] = keras_regularizer(c.kernel_regularizer);
    args
}

/// A regularizer as Keras writes one in a config.
pub fn keras_regularizer(r: Option<Regularizer>) -> Value {
    match r {
        None => Value::Null,
        Some(r) => {
            let c = r.config();
            json!({"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": c["l1"], "l2": c["l2"]}, "registered_name": null})
        }
    }
}

/// How Keras calls a layer of several inputs in a functional model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerasInputs {
    /// One list of tensors (`Add()([a, b])`, `Attention()([q, v])`).
    List,
    /// Positional arguments (`MultiHeadAttention(…)(query, value, key)`).
    Positional,
    /// The sequences, then `initial_state=[…]` (the recurrent layers).
    InitialState,
}

/// Where a layer's weights live in `model.weights.h5` below its group: each `vars` group's
/// path (`""` for the layer's own, `"cell"` for a recurrent layer's cell) and how many weights
/// it holds, in the layer's variable order.
pub type WeightGroups = Vec<(String, usize)>;

/// Named values of [`KerasForm::keras_named_values`]: (group path, name, values).
pub type NamedValues = Vec<(String, String, Vec<f32>)>;

/// A layer with a Keras 3 counterpart of the same class name: its arguments both ways.
/// Register it with [`register_keras_layer`](super::register_keras_layer) (the built-in layers
/// are).
pub trait KerasForm: Configurable {
    /// The arguments Keras' constructor takes by position, in order (`Dense(units)`,
    /// `Conv1D(filters, kernel_size)`): the Python package's classes take them the same way.
    const KERAS_POSITIONAL: &'static [&'static str] = &[];
    /// Arguments Keras takes when the layer is called rather than built
    /// (`MultiHeadAttention(…)(q, v, use_causal_mask=True)`): Rill keeps them in the config,
    /// and rill-keras reads and writes them as the call's keyword arguments in a model file.
    const KERAS_CALL_ARGUMENTS: &'static [&'static str] = &[];
    /// How Keras passes this layer several inputs.
    const KERAS_INPUTS: KerasInputs = KerasInputs::List;
    /// The names of the inputs' shapes in Keras' `build_config` when its `build` takes them
    /// one by one (`MultiHeadAttention`: `query_shape`, `value_shape`, `key_shape`); empty for
    /// layers built from `input_shape`.
    const KERAS_BUILD_SHAPES: &'static [&'static str] = &[];
    /// Keras' arguments for this config, besides `name`, `trainable` and `dtype`.
    fn to_keras(config: &Self::Config) -> Value;
    /// This layer's config from Keras' arguments, for inputs of per-sample rank `rank`; an
    /// argument Rill cannot honour is an error ([`KerasArgs::bad`]).
    fn from_keras(args: &mut KerasArgs<'_>, rank: usize) -> Result<Self::Config>;
    /// Where in `model.weights.h5` Keras keeps this layer's `weights` variables, below the
    /// layer's own group, in order: each path with how many it holds. The default is the
    /// layer's own `vars`; a recurrent layer's are its cell's (`[("cell", 3)]`), a
    /// `Bidirectional`'s its two layers' cells'.
    fn keras_weight_groups(_config: &Self::Config, weights: usize) -> WeightGroups {
        vec![(String::new(), weights)]
    }
    /// Values Keras keeps under a name rather than a number in a `vars` group (a `tf_idf`
    /// lookup's `idf_weights`), each with its group's path below the layer's (`""`: its own):
    /// written into `.keras` files beside the numbered weights.
    fn keras_named_values(_config: &Self::Config) -> NamedValues {
        Vec::new()
    }
}
