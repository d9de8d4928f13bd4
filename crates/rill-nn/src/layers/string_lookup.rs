//! `StringLookup`: strings to indices of a vocabulary (or to one-hot, multi-hot, count or
//! tf-idf rows), and back with `invert` — as Keras' `layers.StringLookup`, inside the model.
//! The vocabulary is learned by [`StringLookup::adapt`] (Keras' ordering) and kept in the
//! config. No ONNX form (ONNX's `LabelEncoder` lives in the `ai.onnx.ml` domain, which Rill's
//! exporter does not write).

use super::vocabulary::{
    bag_of_tokens, checked_lookup, learn, text_of, Lookup, LookupSettings, OutputMode,
};
use super::{Configurable, KerasArgs, KerasForm, Layer, LayerExample};
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

const KIND: &str = "StringLookup";

/// [`StringLookup`]'s arguments, with the vocabulary it learned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StringLookupConfig {
    /// The largest vocabulary, special tokens included (`None`: every token seen).
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// How many indices tokens outside the vocabulary share: 1, or 0 to refuse them.
    #[serde(default = "one")]
    pub num_oov_indices: usize,
    /// The token that means padding (index 0 in `int` mode), if any.
    #[serde(default)]
    pub mask_token: Option<String>,
    /// The token an unknown index inverts to.
    #[serde(default = "default_oov")]
    pub oov_token: String,
    /// Indices to strings instead of strings to indices (`int` mode only).
    #[serde(default)]
    pub invert: bool,
    /// What the layer outputs.
    #[serde(default)]
    pub output_mode: OutputMode,
    /// In the bag modes, rows as wide as `max_tokens`.
    #[serde(default)]
    pub pad_to_max_tokens: bool,
    /// The learned tokens, most frequent first (special tokens not included).
    #[serde(default)]
    pub vocabulary: Option<Vec<String>>,
    /// For `tf_idf`: each learned token's inverse document frequency.
    #[serde(default)]
    pub idf_weights: Option<Vec<f64>>,
}

fn one() -> usize {
    1
}
fn default_oov() -> String {
    "[UNK]".into()
}

impl Default for StringLookupConfig {
    fn default() -> Self {
        StringLookupConfig {
            max_tokens: None,
            num_oov_indices: 1,
            mask_token: None,
            oov_token: default_oov(),
            invert: false,
            output_mode: OutputMode::Int,
            pad_to_max_tokens: false,
            vocabulary: None,
            idf_weights: None,
        }
    }
}

/// Strings ↔ vocabulary indices, as Keras' `StringLookup`.
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{Layer, StringLookup};
/// let colours = Tensor::from_strings(vec!["red", "blue", "red", "green"], &[4, 1])?;
/// let mut lookup = StringLookup::new();
/// lookup.adapt(&colours)?;
/// assert_eq!(lookup.vocabulary(), ["[UNK]", "red", "green", "blue"]);
/// let ids = lookup.call(&Tensor::from_strings(vec!["blue", "pink"], &[2, 1])?, false)?;
/// assert_eq!(ids.to_vec::<i64>()?, [3, 0]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StringLookup {
    config: StringLookupConfig,
    lookup: Option<Lookup>,
}

impl Default for StringLookup {
    fn default() -> Self {
        StringLookup::new()
    }
}

impl StringLookup {
    /// Keras' defaults: one OOV index (`[UNK]`), no mask, `int` output.
    pub fn new() -> Self {
        StringLookup {
            config: StringLookupConfig::default(),
            lookup: None,
        }
    }
    /// A lookup with `config` (checked).
    pub fn with_config(config: StringLookupConfig) -> Result<Self> {
        StringLookup::from_config(config)
    }
    /// The vocabulary in index order, special tokens included (Keras' `get_vocabulary()`).
    pub fn vocabulary(&self) -> Vec<String> {
        let learned = self.config.vocabulary.iter().flatten().cloned();
        self.special().into_iter().chain(learned).collect()
    }
    /// Sets the vocabulary (learned tokens; Keras' special tokens at its start are accepted).
    pub fn set_vocabulary(&mut self, tokens: Vec<String>, idf: Option<Vec<f64>>) -> Result<()> {
        let mut config = self.config.clone();
        config.vocabulary = Some(tokens);
        config.idf_weights = idf;
        *self = StringLookup::from_config(config)?;
        Ok(())
    }

    /// Learns what `adapt` learns from `tokens` (row-major, of `shape`: each row a document),
    /// ranked by `key` — the token itself for text, its value for integer ids.
    pub(crate) fn learn_from<K: Ord + std::hash::Hash + Clone>(
        &self,
        tokens: &[K],
        shape: &[usize],
        key_of_special: impl Fn(&String) -> K,
    ) -> Result<(Vec<K>, Option<Vec<f64>>)> {
        let row = match shape {
            [] | [_] => 1,
            [rows, ..] => tokens.len() / (*rows).max(1),
        };
        let documents: Vec<Vec<K>> = tokens.chunks(row.max(1)).map(<[K]>::to_vec).collect();
        let special: Vec<K> = self.special().iter().map(key_of_special).collect();
        let keep = self
            .config
            .max_tokens
            .map(|m| m.saturating_sub(special.len()));
        let tf_idf = self.config.output_mode == OutputMode::TfIdf;
        Ok(learn(&documents, &special, keep, tf_idf))
    }

    /// The mask (in `int` mode, when set) and the OOV token come first, as in Keras.
    fn special(&self) -> Vec<String> {
        let c = &self.config;
        let mask = c
            .mask_token
            .iter()
            .filter(|_| c.output_mode == OutputMode::Int);
        let oov = std::iter::repeat_n(&c.oov_token, c.num_oov_indices);
        mask.chain(oov).cloned().collect()
    }

    fn lookup(&self) -> Result<&Lookup> {
        self.lookup.as_ref().ok_or_else(|| {
            Error::Input(format!(
                "{KIND}: the layer has no vocabulary: adapt it on data first, or give one"
            ))
        })
    }
}

impl Configurable for StringLookup {
    const KIND: &'static str = KIND;
    type Config = StringLookupConfig;
    fn get_config(&self) -> StringLookupConfig {
        self.config.clone()
    }
    fn from_config(config: StringLookupConfig) -> Result<Self> {
        if config.num_oov_indices > 1 {
            return Err(Error::Config(format!(
                "{KIND}: num_oov_indices above 1 hashes unknown tokens with TensorFlow's fingerprint, which Rill does not; use 0 or 1"
            )));
        }
        if config.invert && config.output_mode != OutputMode::Int {
            return Err(Error::Config(format!(
                "{KIND}: invert works in int mode only"
            )));
        }
        let mut layer = StringLookup {
            config,
            lookup: None,
        };
        let special = layer.special();
        let special: Vec<&str> = special.iter().map(String::as_str).collect();
        let c = &layer.config;
        let settings = LookupSettings {
            layer: KIND,
            special: &special,
            oov: (c.num_oov_indices == 1).then_some(special.len() as i64 - 1),
            mode: c.output_mode,
            max_tokens: c.max_tokens,
            pad_to_max_tokens: c.pad_to_max_tokens,
        };
        if let Some((lookup, learned, idf)) =
            checked_lookup(&settings, c.vocabulary.as_deref(), c.idf_weights.as_deref())?
        {
            layer.lookup = Some(lookup);
            layer.config.vocabulary = Some(learned);
            layer.config.idf_weights = idf;
        }
        Ok(layer)
    }
    fn examples() -> Vec<LayerExample<StringLookupConfig>> {
        let words = |w: &[&str]| Some(w.iter().map(|s| s.to_string()).collect());
        let vocabulary = words(&["the", "film", "was", "great"]);
        vec![
            LayerExample::new(
                StringLookupConfig {
                    mask_token: Some(String::new()),
                    vocabulary: vocabulary.clone(),
                    ..Default::default()
                },
                &[3],
            )
            .values(super::SampleValues::Words),
            LayerExample::new(
                StringLookupConfig {
                    output_mode: OutputMode::Count,
                    max_tokens: Some(8),
                    pad_to_max_tokens: true,
                    vocabulary,
                    ..Default::default()
                },
                &[4],
            )
            .values(super::SampleValues::Words),
        ]
    }
}

impl Layer for StringLookup {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        let depth = || match (c.pad_to_max_tokens, c.max_tokens) {
            (true, Some(n)) => Ok(n),
            _ => self.lookup().map(|l| l.depth),
        };
        Ok(match (c.output_mode, input_shape) {
            (OutputMode::Int, _) => input_shape.to_vec(),
            (OutputMode::OneHot, [] | [1]) => vec![depth()?],
            (OutputMode::OneHot, _) => [input_shape, &[depth()?]].concat(),
            (_, [] | [_]) => vec![depth()?],
            (mode, _) => {
                return Err(Error::Input(format!(
                    "{KIND}: output_mode {} takes one token or a list of tokens per sample, found per-sample shape {input_shape:?}",
                    mode.keras_name()
                )))
            }
        })
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let lookup = self.lookup()?;
        let out_shape = {
            let mut s = vec![x.shape().first().copied().unwrap_or(1)];
            s.extend(self.compute_output_shape(x.shape().get(1..).unwrap_or(&[]))?);
            s
        };
        if self.config.invert {
            let ids = x.to_dtype(DType::I64)?.to_vec::<i64>()?;
            let tokens = &lookup.index.tokens;
            let text = ids
                .iter()
                .map(
                    |&i| match usize::try_from(i).ok().and_then(|i| tokens.get(i)) {
                        Some(t) => t.clone(),
                        None => self.config.oov_token.clone(),
                    },
                )
                .collect();
            return Ok(Tensor::from_strings(text, x.shape())?);
        }
        let tokens = text_of(KIND, x)?;
        let ids = tokens
            .iter()
            .map(|t| lookup.index.lookup(KIND, t))
            .collect::<Result<Vec<i64>>>()?;
        match self.config.output_mode {
            OutputMode::Int => Ok(Tensor::from_vec(ids, x.shape())?),
            OutputMode::OneHot => {
                let each: Vec<Vec<i64>> = ids.iter().map(|&i| vec![i]).collect();
                Ok(bag_of_tokens(&each, lookup.depth, OutputMode::OneHot, &[])?
                    .reshape(&out_shape)?)
            }
            mode => {
                let per_row = ids.len() / out_shape[0].max(1);
                let rows: Vec<Vec<i64>> = ids.chunks(per_row.max(1)).map(<[i64]>::to_vec).collect();
                bag_of_tokens(&rows, lookup.depth, mode, &lookup.idf)
            }
        }
    }
    /// Learns the vocabulary from `data` (each string a token; each row a document for the
    /// idf weights of `tf_idf`) — Keras' `adapt`.
    fn adapt(&mut self, data: &Tensor) -> Result<()> {
        let tokens = text_of(KIND, data)?;
        let (learned, idf) = self.learn_from(&tokens, data.shape(), |t| t.clone())?;
        self.set_vocabulary(learned, idf)
    }
    fn input_dtype(&self) -> Option<DType> {
        (!self.config.invert).then_some(DType::Str)
    }
}

/// Keras: `keras.layers.StringLookup`; the vocabulary from the config or, as Keras writes an
/// adapted layer, from `vocabulary.txt` in the layer's assets.
impl KerasForm for StringLookup {
    fn to_keras(c: &StringLookupConfig) -> serde_json::Value {
        serde_json::json!({
            "max_tokens": c.max_tokens,
            "num_oov_indices": c.num_oov_indices,
            "mask_token": c.mask_token,
            "oov_token": c.oov_token,
            "invert": c.invert,
            "output_mode": c.output_mode.keras_name(),
            "pad_to_max_tokens": c.pad_to_max_tokens,
            "sparse": false,
            "vocabulary": c.vocabulary,
            "idf_weights": c.idf_weights,
            "encoding": "utf-8",
        })
    }
    /// A `tf_idf` layer's weights per position, in its `vars` where Keras' loader looks.
    fn keras_named_values(c: &StringLookupConfig) -> super::NamedValues {
        match StringLookup::from_config(c.clone()).map(|l| l.lookup) {
            Ok(Some(l)) if c.output_mode == OutputMode::TfIdf => {
                vec![(String::new(), "idf_weights".to_string(), l.idf)]
            }
            _ => Vec::new(),
        }
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<StringLookupConfig> {
        let mode = a.get("output_mode");
        let output_mode =
            OutputMode::from_keras(mode.as_str().unwrap_or("int")).ok_or_else(|| {
                a.bad(
                    "output_mode",
                    mode,
                    "int, one_hot, multi_hot, count or tf_idf",
                )
            })?;
        let sparse = a.get("sparse");
        if sparse.as_bool() == Some(true) {
            return Err(a.bad("sparse", sparse, "Rill's tensors are dense"));
        }
        let encoding = a.get("encoding");
        if !matches!(encoding.as_str(), None | Some("utf-8" | "UTF-8")) {
            return Err(a.bad("encoding", encoding, "Rill reads UTF-8 text only"));
        }
        for ignored in ["vocabulary_size", "oov_method", "salt", "vocabulary_dtype"] {
            a.get(ignored);
        }
        let vocabulary: Option<Vec<String>> = match a.get("vocabulary") {
            serde_json::Value::Null => a
                .asset_text("vocabulary.txt")
                .map(|text| super::keras_vocabulary_file(&text)),
            v => Some(serde_json::from_value(v.clone()).map_err(|_| {
                a.bad(
                    "vocabulary",
                    v,
                    "a list of strings (a file path is not read)",
                )
            })?),
        };
        Ok(StringLookupConfig {
            max_tokens: a.value("max_tokens", None)?,
            num_oov_indices: a.value("num_oov_indices", 1)?,
            mask_token: a.value("mask_token", None)?,
            oov_token: a.value("oov_token", default_oov())?,
            invert: a.value("invert", false)?,
            output_mode,
            pad_to_max_tokens: a.value("pad_to_max_tokens", false)?,
            vocabulary,
            idf_weights: a.value("idf_weights", None)?,
        })
    }
}
