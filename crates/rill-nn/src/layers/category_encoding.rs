//! `CategoryEncoding`: integer categories in `0..num_tokens` as one-hot, multi-hot or count rows
//! — Keras' `layers.CategoryEncoding`, what the structured-data tutorial puts after a lookup.
//! No ONNX form yet: ONNX's `OneHot` is not among the operators Rill's importer reads back, and
//! an export Rill cannot read again is not one the tests can prove.

use super::vocabulary::{bag_of_tokens, OutputMode};
use super::{Configurable, KerasArgs, KerasForm, Layer, LayerExample};
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

const KIND: &str = "CategoryEncoding";

/// [`CategoryEncoding`]'s arguments.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CategoryEncodingConfig {
    /// How many categories: inputs lie in `0..num_tokens`.
    pub num_tokens: usize,
    /// `one_hot`, `multi_hot` (Keras' default) or `count`.
    #[serde(default = "multi_hot")]
    pub output_mode: OutputMode,
}

fn multi_hot() -> OutputMode {
    OutputMode::MultiHot
}

/// Categories to rows of `num_tokens`: a 1 at each category (`one_hot` per value,
/// `multi_hot` per sample) or how often it occurs (`count`).
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{CategoryEncoding, Layer, OutputMode};
/// let x = Tensor::from_vec(vec![0i64, 2, 2, 3], &[2, 2])?;
/// let counts = CategoryEncoding::new(4, OutputMode::Count)?;
/// assert_eq!(counts.call(&x, false)?.to_vec::<f32>()?, [1., 0., 1., 0., 0., 0., 1., 1.]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CategoryEncoding(CategoryEncodingConfig);

impl CategoryEncoding {
    /// An encoding of categories `0..num_tokens` in `mode`.
    pub fn new(num_tokens: usize, mode: OutputMode) -> Result<Self> {
        CategoryEncoding::from_config(CategoryEncodingConfig {
            num_tokens,
            output_mode: mode,
        })
    }
}

impl Configurable for CategoryEncoding {
    const KIND: &'static str = KIND;
    type Config = CategoryEncodingConfig;
    fn get_config(&self) -> CategoryEncodingConfig {
        self.0
    }
    fn from_config(c: CategoryEncodingConfig) -> Result<Self> {
        if c.num_tokens == 0 || c.num_tokens > super::MAX_DIM {
            return Err(Error::Config(format!(
                "{KIND}: num_tokens must lie in 1..={}, found {}",
                super::MAX_DIM,
                c.num_tokens
            )));
        }
        if !matches!(
            c.output_mode,
            OutputMode::OneHot | OutputMode::MultiHot | OutputMode::Count
        ) {
            return Err(Error::Config(format!(
                "{KIND}: output_mode must be one_hot, multi_hot or count, found {}",
                c.output_mode.keras_name()
            )));
        }
        Ok(CategoryEncoding(c))
    }
    fn examples() -> Vec<LayerExample<CategoryEncodingConfig>> {
        let example = |mode, shape: &[usize]| {
            LayerExample::new(
                CategoryEncodingConfig {
                    num_tokens: 5,
                    output_mode: mode,
                },
                shape,
            )
            .values(super::SampleValues::Ids(5))
        };
        vec![
            example(OutputMode::OneHot, &[3]),
            example(OutputMode::MultiHot, &[4]),
            example(OutputMode::Count, &[6]),
        ]
    }
}

impl Layer for CategoryEncoding {
    crate::configurable_layer!();
    fn input_dtype(&self) -> Option<DType> {
        Some(DType::I64)
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let t = self.0.num_tokens;
        Ok(match (self.0.output_mode, input_shape) {
            (_, []) => vec![t],
            (OutputMode::OneHot, [1]) => vec![t],
            (OutputMode::OneHot, _) => [input_shape, &[t]].concat(),
            (_, [_]) => vec![t],
            (mode, _) => {
                return Err(Error::Input(format!(
                    "{KIND}: {} takes one category or a list of them per sample, found per-sample shape {input_shape:?}",
                    mode.keras_name()
                )))
            }
        })
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        if x.dtype() == DType::Str {
            return Err(Error::Input(format!(
                "{KIND}: takes integer categories, found text (look it up first: StringLookup)"
            )));
        }
        let t = self.0.num_tokens;
        let ids: Vec<i64> = x
            .to_f64_vec()
            .iter()
            .map(|&v| match v {
                v if v.fract() == 0.0 && v >= 0.0 && v < t as f64 => Ok(v as i64),
                v => Err(Error::Input(format!(
                    "{KIND}: categories must be whole numbers in 0..{t}, found {v}"
                ))),
            })
            .collect::<Result<_>>()?;
        let mut shape = vec![x.shape().first().copied().unwrap_or(1)];
        shape.extend(self.compute_output_shape(x.shape().get(1..).unwrap_or(&[]))?);
        // One bag per output row: each value alone (one_hot), or each input row's values.
        let per_row = match self.0.output_mode {
            OutputMode::OneHot => 1,
            _ => x
                .shape()
                .get(1..)
                .and_then(<[usize]>::last)
                .copied()
                .unwrap_or(1),
        };
        let rows: Vec<Vec<i64>> = ids.chunks(per_row.max(1)).map(<[i64]>::to_vec).collect();
        Ok(bag_of_tokens(&rows, t, self.0.output_mode, &[])?.reshape(&shape)?)
    }
}

/// Keras: `keras.layers.CategoryEncoding`.
impl KerasForm for CategoryEncoding {
    const KERAS_POSITIONAL: &'static [&'static str] = &["num_tokens", "output_mode"];
    fn to_keras(c: &CategoryEncodingConfig) -> serde_json::Value {
        serde_json::json!({"num_tokens": c.num_tokens, "output_mode": c.output_mode.keras_name(), "sparse": false})
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<CategoryEncodingConfig> {
        let mode = a.get("output_mode");
        let output_mode = OutputMode::from_keras(mode.as_str().unwrap_or("multi_hot"))
            .ok_or_else(|| a.bad("output_mode", mode, "one_hot, multi_hot or count"))?;
        let sparse = a.get("sparse");
        if sparse.as_bool() == Some(true) {
            return Err(a.bad("sparse", sparse, "Rill's tensors are dense"));
        }
        Ok(CategoryEncodingConfig {
            num_tokens: a.required("num_tokens")?,
            output_mode,
        })
    }
}
