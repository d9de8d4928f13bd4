use super::{Configurable, Layer};
use crate::Result;
use rill_core::Tensor;
use serde::{Deserialize, Serialize};

/// [`Rescaling`]'s arguments.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RescalingConfig {
    /// The factor.
    pub scale: f64,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
}

/// `x · scale + offset`, after casting to f32 (e.g. `Rescaling::new(1.0 / 255.0, 0.0)` turns
/// raw bytes into [0, 1]).
#[derive(Debug)]
pub struct Rescaling(RescalingConfig);

impl Rescaling {
    /// A rescaling by `scale`, then shifted by `offset`.
    pub fn new(scale: f64, offset: f64) -> Self {
        Rescaling(RescalingConfig { scale, offset })
    }
}

impl Configurable for Rescaling {
    const KIND: &'static str = "Rescaling";
    type Config = RescalingConfig;
    fn get_config(&self) -> RescalingConfig {
        self.0
    }
    fn from_config(c: RescalingConfig) -> Result<Self> {
        Ok(Rescaling(c))
    }
    fn examples() -> Vec<super::LayerExample<RescalingConfig>> {
        vec![super::LayerExample::new(
            Rescaling::new(0.5, -0.25).get_config(),
            &[2, 3],
        )]
    }
}

impl Layer for Rescaling {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.to_f32_scaled(self.0.scale, self.0.offset)?)
    }
}

/// ONNX: `Mul` by the scale, then `Add` of the offset when there is one.
impl super::OnnxForm for Rescaling {
    fn to_onnx(
        c: &RescalingConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        let scale = g.scalar(&l.part("scale"), c.scale as f32);
        if c.offset == 0.0 {
            return Ok(g.node("Mul", vec![l.input.clone(), scale], l.name, vec![]));
        }
        let y = g.node(
            "Mul",
            vec![l.input.clone(), scale],
            &l.part("scaled"),
            vec![],
        );
        let offset = g.scalar(&l.part("offset"), c.offset as f32);
        Ok(g.node("Add", vec![y, offset], l.name, vec![]))
    }
}

/// Keras: `keras.layers.Rescaling`.
impl super::KerasForm for Rescaling {
    const KERAS_POSITIONAL: &'static [&'static str] = &["scale", "offset"];
    fn to_keras(c: &RescalingConfig) -> serde_json::Value {
        serde_json::json!({"scale": c.scale, "offset": c.offset})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<RescalingConfig> {
        Ok(RescalingConfig {
            scale: a.number("scale", None)?,
            offset: a.value("offset", 0.0)?,
        })
    }
}
