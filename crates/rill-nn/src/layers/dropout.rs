use super::{Configurable, Layer};
use crate::{Error, Result, Variable};
use rill_core::{random::with_global, DType, Generator, Tensor};
use serde::{Deserialize, Serialize};

/// [`Dropout`]'s argument.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DropoutConfig {
    /// The fraction of inputs zeroed in training.
    pub rate: f64,
}

/// Zeroes a fraction `rate` of the inputs during training and scales the rest by 1/(1 − rate);
/// the identity in inference. Its mask stream is seeded from the default generator when built
/// and kept as a state variable (as Keras 3's seed generator), so a saved and restored model
/// draws the same masks as one that never stopped.
#[derive(Debug)]
pub struct Dropout {
    rate: f64,
    rng: Option<Variable>,
}

impl Dropout {
    /// Dropout of `rate` (0 ≤ rate < 1).
    pub fn new(rate: f64) -> Self {
        Dropout { rate, rng: None }
    }
}

impl Configurable for Dropout {
    const KIND: &'static str = "Dropout";
    type Config = DropoutConfig;
    fn get_config(&self) -> DropoutConfig {
        DropoutConfig { rate: self.rate }
    }
    fn from_config(c: DropoutConfig) -> Result<Self> {
        Ok(Dropout::new(c.rate))
    }
    fn examples() -> Vec<super::LayerExample<DropoutConfig>> {
        vec![super::LayerExample::new(
            Dropout::new(0.3).get_config(),
            &[6],
        )]
    }
}

impl Layer for Dropout {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::Config(format!(
                "Dropout: the rate must be in [0, 1), found {}",
                self.rate
            )));
        }
        Ok(input_shape.to_vec())
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let g = Generator::new(with_global(|g| g.next_seed()));
        self.rng = Some(Variable::state(
            "seed_generator_state",
            Tensor::from_vec(g.to_bytes().to_vec(), &[48])?,
        ));
        Ok(())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let state = self
            .rng
            .as_ref()
            .ok_or_else(|| Error::not_built(Self::KIND))?;
        // Draw and advance the stream in one locked step, so that concurrent training calls
        // never draw the same mask.
        let mut u = None;
        state.update::<u8>(|bytes| {
            if let Some(mut rng) = Generator::from_bytes(bytes) {
                u = Some(rng.uniform(x.shape(), 0.0, 1.0, DType::F32));
                bytes.copy_from_slice(&rng.to_bytes());
            }
        })?;
        let u = u.ok_or_else(|| Error::Config("Dropout: corrupt random-number state".into()))??;
        let keep = u
            .ge(&Tensor::scalar(self.rate as f32))?
            .to_dtype(x.dtype())?;
        Ok(x.mul(&keep.mul_scalar(1.0 / (1.0 - self.rate))?)?)
    }
    fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        // The steps stay where they are: their mask with them.
        super::pass_mask(masks)
    }
    fn variables(&self) -> Vec<Variable> {
        self.rng.iter().cloned().collect()
    }
}

/// ONNX: nothing — an exported model is an inference graph, where dropout passes values on.
impl super::OnnxForm for Dropout {
    fn to_onnx(
        _c: &DropoutConfig,
        l: super::OnnxLayer<'_>,
        _g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        Ok(l.input)
    }
}

/// Keras: `keras.layers.Dropout`.
impl super::KerasForm for Dropout {
    const KERAS_POSITIONAL: &'static [&'static str] = &["rate"];
    fn to_keras(c: &DropoutConfig) -> serde_json::Value {
        serde_json::json!({"rate": c.rate})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<DropoutConfig> {
        Ok(DropoutConfig {
            rate: a.number("rate", None)?,
        })
    }
}
