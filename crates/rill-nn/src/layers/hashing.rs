//! `Hashing`: strings or integers into `num_bins` buckets by FarmHash Fingerprint64 — Keras'
//! `layers.Hashing` (TensorFlow's `to_hash_bucket_fast`), for categorical features with too many
//! values to look up. Bucket indices, or one-hot/multi-hot/count rows of them.
//!
//! Keras' salted form (SipHash with a key) is not here: a `salt` is refused by name.

use super::vocabulary::OutputMode;
use super::{CategoryEncoding, Configurable, KerasArgs, KerasForm, Layer, LayerExample};
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

const KIND: &str = "Hashing";

/// A value that goes to bucket 0 (Keras' `mask_value`): text or an integer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum MaskValue {
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
}

impl MaskValue {
    /// The text the value hashes as.
    fn text(&self) -> String {
        match self {
            MaskValue::Int(v) => v.to_string(),
            MaskValue::Text(s) => s.clone(),
        }
    }
}

/// [`Hashing`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HashingConfig {
    /// How many buckets, bucket 0 included when there is a mask value.
    pub num_bins: usize,
    /// The value that goes to bucket 0; the others go to `1..num_bins`.
    #[serde(default)]
    pub mask_value: Option<MaskValue>,
    /// Bucket indices (`int`), or `one_hot`, `multi_hot` or `count` rows of them.
    #[serde(default)]
    pub output_mode: OutputMode,
}

/// Values into buckets by FarmHash Fingerprint64 of their text, as Keras' `Hashing`.
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{Hashing, Layer};
/// let x = Tensor::from_strings(vec!["A", "B", "C", "D", "E"], &[5, 1])?;
/// let buckets = Hashing::new(3)?.call(&x, false)?;
/// // What Keras' documentation shows for `Hashing(num_bins=3)` on the same strings.
/// assert_eq!(buckets.to_vec::<i64>()?, [1, 0, 1, 1, 2]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hashing(HashingConfig);

impl Hashing {
    /// `num_bins` buckets, no mask value, bucket indices out.
    pub fn new(num_bins: usize) -> Result<Self> {
        Hashing::from_config(HashingConfig {
            num_bins,
            mask_value: None,
            output_mode: OutputMode::Int,
        })
    }

    /// The bucket of every value of `x` (text as it is; numbers as their integer's text, as
    /// TensorFlow's `as_string` writes them after Keras casts floats to int64).
    fn buckets(&self, x: &Tensor) -> Result<Tensor> {
        let text: Vec<String> = match x.dtype() {
            DType::Str => x.strings()?,
            _ => x
                .to_dtype(DType::I64)?
                .to_vec::<i64>()?
                .iter()
                .map(i64::to_string)
                .collect(),
        };
        let mask = self.0.mask_value.as_ref().map(MaskValue::text);
        let bins = self.0.num_bins as u64 - u64::from(mask.is_some() && self.0.num_bins > 1);
        let shift = i64::from(mask.is_some() && self.0.num_bins > 1);
        let ids = text
            .iter()
            .map(|t| match &mask {
                Some(m) if shift == 1 && m == t => 0,
                _ => (farmhash::fingerprint64(t.as_bytes()) % bins) as i64 + shift,
            })
            .collect();
        Ok(Tensor::from_vec(ids, x.shape())?)
    }
}

impl Configurable for Hashing {
    const KIND: &'static str = KIND;
    type Config = HashingConfig;
    fn get_config(&self) -> HashingConfig {
        self.0.clone()
    }
    fn from_config(c: HashingConfig) -> Result<Self> {
        if c.num_bins == 0 || c.num_bins > super::MAX_DIM {
            return Err(Error::Config(format!(
                "{KIND}: num_bins must lie in 1..={}, found {}",
                super::MAX_DIM,
                c.num_bins
            )));
        }
        if c.output_mode == OutputMode::TfIdf {
            return Err(Error::Config(format!(
                "{KIND}: output_mode must be int, one_hot, multi_hot or count"
            )));
        }
        Ok(Hashing(c))
    }
    fn examples() -> Vec<LayerExample<HashingConfig>> {
        vec![
            LayerExample::new(
                HashingConfig {
                    num_bins: 7,
                    mask_value: Some(MaskValue::Text(String::new())),
                    output_mode: OutputMode::Int,
                },
                &[3],
            )
            .values(super::SampleValues::Words),
            LayerExample::new(
                HashingConfig {
                    num_bins: 5,
                    mask_value: None,
                    output_mode: OutputMode::MultiHot,
                },
                &[4],
            )
            .values(super::SampleValues::Ids(1000)),
        ]
    }
}

impl Layer for Hashing {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        match self.0.output_mode {
            OutputMode::Int => Ok(input_shape.to_vec()),
            mode => CategoryEncoding::new(self.0.num_bins, mode)?.compute_output_shape(input_shape),
        }
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let ids = self.buckets(x)?;
        match self.0.output_mode {
            OutputMode::Int => Ok(ids),
            mode => CategoryEncoding::new(self.0.num_bins, mode)?.call(&ids, training),
        }
    }
    /// Text when the mask value is text; otherwise a `Hashing` first in a stack takes numbers
    /// (a functional model's `input_of(…, DType::Str)` feeds it text).
    fn input_dtype(&self) -> Option<DType> {
        match self.0.mask_value {
            Some(MaskValue::Text(_)) => Some(DType::Str),
            _ => Some(DType::I64),
        }
    }
}

/// Keras: `keras.layers.Hashing`.
impl KerasForm for Hashing {
    const KERAS_POSITIONAL: &'static [&'static str] = &["num_bins"];
    fn to_keras(c: &HashingConfig) -> serde_json::Value {
        // Keras' Hashing gives bucket indices in an integer dtype and refuses float32 for them.
        let dtype = match c.output_mode {
            OutputMode::Int => "int64",
            _ => "float32",
        };
        serde_json::json!({"num_bins": c.num_bins, "mask_value": c.mask_value, "salt": null,
                           "output_mode": c.output_mode.keras_name(), "sparse": false, "dtype": dtype})
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<HashingConfig> {
        let salt = a.get("salt");
        if !salt.is_null() {
            return Err(a.bad(
                "salt",
                salt,
                "Rill hashes with FarmHash only (Keras' salted SipHash is not implemented)",
            ));
        }
        let sparse = a.get("sparse");
        if sparse.as_bool() == Some(true) {
            return Err(a.bad("sparse", sparse, "Rill's tensors are dense"));
        }
        let mode = a.get("output_mode");
        let output_mode = OutputMode::from_keras(mode.as_str().unwrap_or("int"))
            .filter(|m| *m != OutputMode::TfIdf)
            .ok_or_else(|| a.bad("output_mode", mode, "int, one_hot, multi_hot or count"))?;
        Ok(HashingConfig {
            num_bins: a.required("num_bins")?,
            mask_value: a.value("mask_value", None)?,
            output_mode,
        })
    }
}
