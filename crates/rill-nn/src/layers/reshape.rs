use super::serde_helpers::check_sizes;
use super::{Configurable, Layer};
use crate::{Error, Result};
use rill_core::Tensor;
use serde::{Deserialize, Serialize};

/// [`Reshape`]'s argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReshapeConfig {
    /// The per-sample shape after reshaping.
    pub target_shape: Vec<usize>,
}

/// Reshapes each sample to `target_shape` (same number of elements).
#[derive(Debug)]
pub struct Reshape {
    target: Vec<usize>,
}

impl Reshape {
    /// A reshape to `target_shape` per sample.
    pub fn new(target_shape: &[usize]) -> Self {
        Reshape {
            target: target_shape.to_vec(),
        }
    }
}

impl Configurable for Reshape {
    const KIND: &'static str = "Reshape";
    type Config = ReshapeConfig;
    fn get_config(&self) -> ReshapeConfig {
        ReshapeConfig {
            target_shape: self.target.clone(),
        }
    }
    fn from_config(c: ReshapeConfig) -> Result<Self> {
        check_sizes(Self::KIND, "target_shape", &c.target_shape)?;
        Ok(Reshape::new(&c.target_shape))
    }
    fn examples() -> Vec<super::LayerExample<ReshapeConfig>> {
        vec![super::LayerExample::new(
            Reshape::new(&[3, 4]).get_config(),
            &[12],
        )]
    }
}

impl Layer for Reshape {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let numel = |s: &[usize]| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel(input_shape) != numel(&self.target) {
            return Err(Error::Config(format!(
                "Reshape: cannot reshape samples of shape {input_shape:?} into {:?}",
                self.target
            )));
        }
        Ok(self.target.clone())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let mut shape = vec![x.shape()[0]];
        shape.extend(&self.target);
        Ok(x.reshape(&shape)?)
    }
}

/// ONNX: `Reshape` to `[0, target…]` (0 keeps the batch size).
impl super::OnnxForm for Reshape {
    fn to_onnx(
        c: &ReshapeConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        let target: Vec<i64> = std::iter::once(0)
            .chain(c.target_shape.iter().map(|&d| d as i64))
            .collect();
        let shape = g.int64s(&l.part("shape"), &target);
        Ok(g.node("Reshape", vec![l.input.clone(), shape], l.name, vec![]))
    }
}

/// Keras: `keras.layers.Reshape`.
impl super::KerasForm for Reshape {
    const KERAS_POSITIONAL: &'static [&'static str] = &["target_shape"];
    fn to_keras(c: &ReshapeConfig) -> serde_json::Value {
        serde_json::json!({"target_shape": c.target_shape})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<ReshapeConfig> {
        Ok(ReshapeConfig {
            target_shape: a.required("target_shape")?,
        })
    }
}
