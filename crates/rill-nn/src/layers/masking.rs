//! `Masking`: marks the steps of a sequence whose features all equal `mask_value` as padding,
//! as Keras' `layers.Masking` — they become zeros, and the output carries a mask that recurrent
//! layers and `GlobalAveragePooling1D` honour. No ONNX form: ONNX has no masks, so an exported
//! model would not skip the padding.

use super::{Configurable, KerasArgs, KerasForm, Layer};
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// [`Masking`]'s argument.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MaskingConfig {
    /// The value that marks padding when every feature of a step holds it.
    #[serde(default)]
    pub mask_value: f64,
}

/// Padding steps (all features `mask_value`) become zeros and are masked downstream.
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{Layer, Masking};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 0.0, 0.0, 3.0, 0.0], &[1, 3, 2])?;
/// let m = Masking::new(0.0);
/// let mask = m.output_mask(&[x.clone()], &[None])?.unwrap();
/// assert_eq!(mask.to_vec::<f32>()?, vec![1.0, 0.0, 1.0]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Masking {
    config: MaskingConfig,
}

impl Masking {
    /// Steps whose features all equal `mask_value` are padding.
    pub fn new(mask_value: f64) -> Self {
        Masking {
            config: MaskingConfig { mask_value },
        }
    }

    /// (batch, steps): 1 where some feature differs from `mask_value`.
    fn mask_of(&self, x: &Tensor) -> Result<Tensor> {
        let value = Tensor::scalar(self.config.mask_value as f32).to_dtype(x.dtype())?;
        let differs = x.ne(&value)?.to_dtype(DType::F32)?;
        Ok(differs.max(&[-1], false)?)
    }
}

impl Configurable for Masking {
    const KIND: &'static str = "Masking";
    type Config = MaskingConfig;
    fn get_config(&self) -> MaskingConfig {
        self.config
    }
    fn from_config(config: MaskingConfig) -> Result<Self> {
        if !config.mask_value.is_finite() {
            return Err(Error::Config(format!(
                "Masking: mask_value must be a finite number, found {}",
                config.mask_value
            )));
        }
        Ok(Masking { config })
    }
    fn examples() -> Vec<super::LayerExample<MaskingConfig>> {
        use super::{LayerExample as E, SampleValues::Ids};
        // Whole numbers 0..3: some steps are all zeros.
        vec![E::new(Masking::new(0.0).get_config(), &[6, 2]).values(Ids(3))]
    }
}

impl Layer for Masking {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        match input_shape {
            [_steps, _features, ..] => Ok(input_shape.to_vec()),
            _ => Err(Error::Config(format!(
                "Masking expects per-sample inputs (steps, features), found {input_shape:?}"
            ))),
        }
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let keep = self.mask_of(x)?.to_dtype(x.dtype())?.unsqueeze(-1)?;
        Ok(x.mul(&keep)?)
    }
    fn output_mask(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        match inputs {
            [x] => Ok(Some(self.mask_of(x)?)),
            _ => Ok(None),
        }
    }
}

/// Keras: `keras.layers.Masking`.
impl KerasForm for Masking {
    fn to_keras(c: &MaskingConfig) -> serde_json::Value {
        serde_json::json!({"mask_value": c.mask_value})
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<MaskingConfig> {
        Ok(MaskingConfig {
            mask_value: a.number("mask_value", Some(0.0))?,
        })
    }
}
