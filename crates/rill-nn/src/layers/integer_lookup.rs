//! `IntegerLookup`: integer ids (of any range) to indices of a vocabulary, or to one-hot,
//! multi-hot, count or tf-idf rows, and back with `invert` — Keras' `layers.IntegerLookup`.
//! It is a [`StringLookup`] over the integers' decimal text (which is also how Keras' assets
//! file writes its vocabulary), so both share one lookup and one `adapt`.

use super::vocabulary::OutputMode;
use super::{
    Configurable, KerasArgs, KerasForm, Layer, LayerExample, StringLookup, StringLookupConfig,
};
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

const KIND: &str = "IntegerLookup";

/// [`IntegerLookup`]'s arguments, with the vocabulary it learned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IntegerLookupConfig {
    /// The largest vocabulary, special tokens included (`None`: every id seen).
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// How many indices ids outside the vocabulary share: 1, or 0 to refuse them.
    #[serde(default = "one")]
    pub num_oov_indices: usize,
    /// The id that means padding (index 0 in `int` mode), if any.
    #[serde(default)]
    pub mask_token: Option<i64>,
    /// The id an unknown index inverts to.
    #[serde(default = "minus_one")]
    pub oov_token: i64,
    /// Indices to ids instead of ids to indices (`int` mode only).
    #[serde(default)]
    pub invert: bool,
    /// What the layer outputs.
    #[serde(default)]
    pub output_mode: OutputMode,
    /// In the bag modes, rows as wide as `max_tokens`.
    #[serde(default)]
    pub pad_to_max_tokens: bool,
    /// The learned ids, most frequent first (special tokens not included).
    #[serde(default)]
    pub vocabulary: Option<Vec<i64>>,
    /// For `tf_idf`: each learned id's inverse document frequency.
    #[serde(default)]
    pub idf_weights: Option<Vec<f64>>,
}

fn one() -> usize {
    1
}
fn minus_one() -> i64 {
    -1
}

impl Default for IntegerLookupConfig {
    fn default() -> Self {
        IntegerLookupConfig {
            max_tokens: None,
            num_oov_indices: 1,
            mask_token: None,
            oov_token: -1,
            invert: false,
            output_mode: OutputMode::Int,
            pad_to_max_tokens: false,
            vocabulary: None,
            idf_weights: None,
        }
    }
}

/// Integer ids ↔ vocabulary indices, as Keras' `IntegerLookup`.
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{IntegerLookup, Layer};
/// let ids = Tensor::from_vec(vec![12i64, 1000, 12, -5], &[4, 1])?;
/// let mut lookup = IntegerLookup::new();
/// lookup.adapt(&ids)?;
/// assert_eq!(lookup.vocabulary(), [-1, 12, 1000, -5]);
/// let out = lookup.call(&Tensor::from_vec(vec![1000i64, 7], &[2, 1])?, false)?;
/// assert_eq!(out.to_vec::<i64>()?, [2, 0]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntegerLookup {
    config: IntegerLookupConfig,
    /// The same lookup over the ids' decimal text.
    text: StringLookup,
}

impl Default for IntegerLookup {
    fn default() -> Self {
        IntegerLookup::new()
    }
}

impl IntegerLookup {
    /// Keras' defaults: one OOV index (id -1), no mask, `int` output.
    pub fn new() -> Self {
        IntegerLookup {
            config: IntegerLookupConfig::default(),
            text: StringLookup::new(),
        }
    }
    /// A lookup with `config` (checked).
    pub fn with_config(config: IntegerLookupConfig) -> Result<Self> {
        IntegerLookup::from_config(config)
    }
    /// The vocabulary in index order, special ids included (Keras' `get_vocabulary()`).
    pub fn vocabulary(&self) -> Vec<i64> {
        self.text
            .vocabulary()
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect()
    }

    /// Ids as decimal text; ids must be whole numbers.
    fn as_text(x: &Tensor) -> Result<Tensor> {
        let text = Self::whole_ids(x)?.iter().map(i64::to_string).collect();
        Ok(Tensor::from_strings(text, x.shape())?)
    }

    /// The ids of `x`, which must be whole numbers (not text).
    fn whole_ids(x: &Tensor) -> Result<Vec<i64>> {
        if x.dtype() == DType::Str {
            return Err(Error::Input(format!(
                "{KIND}: takes integer ids, found text (use StringLookup)"
            )));
        }
        x.to_f64_vec()
            .into_iter()
            .map(|v| match v {
                v if v.fract() == 0.0 && v.is_finite() => Ok(v as i64),
                v => Err(Error::Input(format!(
                    "{KIND}: takes whole numbers, found {v}"
                ))),
            })
            .collect()
    }
}

fn text_config(c: &IntegerLookupConfig) -> StringLookupConfig {
    StringLookupConfig {
        max_tokens: c.max_tokens,
        num_oov_indices: c.num_oov_indices,
        mask_token: c.mask_token.map(|m| m.to_string()),
        oov_token: c.oov_token.to_string(),
        invert: c.invert,
        output_mode: c.output_mode,
        pad_to_max_tokens: c.pad_to_max_tokens,
        vocabulary: c
            .vocabulary
            .as_ref()
            .map(|v| v.iter().map(i64::to_string).collect()),
        idf_weights: c.idf_weights.clone(),
    }
}

impl Configurable for IntegerLookup {
    const KIND: &'static str = KIND;
    type Config = IntegerLookupConfig;
    fn get_config(&self) -> IntegerLookupConfig {
        self.config.clone()
    }
    fn from_config(config: IntegerLookupConfig) -> Result<Self> {
        let text = StringLookup::from_config(text_config(&config))
            .map_err(|e| Error::Config(e.to_string().replace("StringLookup", KIND)))?;
        // The lookup keeps only the learned part of a vocabulary given with its special ids.
        let learned = text
            .get_config()
            .vocabulary
            .map(|v| v.iter().filter_map(|t| t.parse().ok()).collect());
        Ok(IntegerLookup {
            config: IntegerLookupConfig {
                vocabulary: learned,
                idf_weights: text.get_config().idf_weights,
                ..config
            },
            text,
        })
    }
    fn examples() -> Vec<LayerExample<IntegerLookupConfig>> {
        vec![
            LayerExample::new(
                IntegerLookupConfig {
                    mask_token: Some(0),
                    vocabulary: Some(vec![7, 3, 11]),
                    ..Default::default()
                },
                &[3],
            )
            .values(super::SampleValues::Ids(13)),
            LayerExample::new(
                IntegerLookupConfig {
                    output_mode: OutputMode::MultiHot,
                    vocabulary: Some(vec![2, 4, 6, 8]),
                    ..Default::default()
                },
                &[5],
            )
            .values(super::SampleValues::Ids(10)),
        ]
    }
}

impl Layer for IntegerLookup {
    crate::configurable_layer!();
    fn input_dtype(&self) -> Option<DType> {
        (!self.config.invert).then_some(DType::I64)
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.text.compute_output_shape(input_shape)
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if self.config.invert {
            let text = self.text.call(x, training)?;
            let ids = text
                .strings()?
                .iter()
                .map(|t| t.parse::<i64>().unwrap_or(self.config.oov_token))
                .collect();
            return Ok(Tensor::from_vec(ids, x.shape())?);
        }
        self.text
            .call(&Self::as_text(x)?, training)
            .map_err(|e| Error::Input(e.to_string().replace("StringLookup", KIND)))
    }
    /// Learns the vocabulary from `data` (each value an id; ties ranked by value, as Keras
    /// does) — Keras' `adapt`.
    fn adapt(&mut self, data: &Tensor) -> Result<()> {
        let ids = Self::whole_ids(data)?;
        let (learned, idf) = self
            .text
            .learn_from(&ids, data.shape(), |t| t.parse().unwrap_or(i64::MIN))?;
        let mut config = self.config.clone();
        config.vocabulary = Some(learned);
        config.idf_weights = idf;
        *self = IntegerLookup::from_config(config)?;
        Ok(())
    }
}

/// Keras: `keras.layers.IntegerLookup`; the vocabulary from the config or the layer's assets.
impl KerasForm for IntegerLookup {
    fn to_keras(c: &IntegerLookupConfig) -> serde_json::Value {
        let mut v = StringLookup::to_keras(&text_config(c));
        v["mask_token"] = serde_json::json!(c.mask_token);
        v["oov_token"] = serde_json::json!(c.oov_token);
        v["vocabulary"] = serde_json::json!(c.vocabulary);
        v["vocabulary_dtype"] = serde_json::json!("int64");
        if let Some(map) = v.as_object_mut() {
            map.remove("encoding");
        }
        v
    }
    fn keras_named_values(c: &IntegerLookupConfig) -> super::NamedValues {
        StringLookup::keras_named_values(&text_config(c))
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<IntegerLookupConfig> {
        let dtype = a.get("vocabulary_dtype");
        if !matches!(dtype.as_str(), None | Some("int64" | "int32")) {
            return Err(a.bad("vocabulary_dtype", dtype, "integer ids only"));
        }
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
        for ignored in ["vocabulary_size", "oov_method", "salt"] {
            a.get(ignored);
        }
        let vocabulary: Option<Vec<i64>> = match a.get("vocabulary") {
            serde_json::Value::Null => match a.asset_text("vocabulary.txt") {
                Some(text) => Some(
                    super::keras_vocabulary_file(&text)
                        .iter()
                        .map(|t| t.trim().parse::<i64>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| {
                            Error::Config(format!(
                                "{KIND}: vocabulary.txt holds a line that is not an integer"
                            ))
                        })?,
                ),
                None => None,
            },
            v => Some(serde_json::from_value(v.clone()).map_err(|_| {
                a.bad(
                    "vocabulary",
                    v,
                    "a list of integers (a file path is not read)",
                )
            })?),
        };
        Ok(IntegerLookupConfig {
            max_tokens: a.value("max_tokens", None)?,
            num_oov_indices: a.value("num_oov_indices", 1)?,
            mask_token: a.value("mask_token", None)?,
            oov_token: a.value("oov_token", -1)?,
            invert: a.value("invert", false)?,
            output_mode,
            pad_to_max_tokens: a.value("pad_to_max_tokens", false)?,
            vocabulary,
            idf_weights: a.value("idf_weights", None)?,
        })
    }
}
