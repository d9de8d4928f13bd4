use super::{Configurable, Layer};
use crate::Result;
use rill_core::Tensor;

/// Flattens each sample to one axis: `(None, 28, 28)` → `(None, 784)`. A view, no copy.
#[derive(Debug, Default)]
pub struct Flatten;

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Flatten
    }
}

/// Flatten takes no arguments; its config is an empty JSON object.
impl Configurable for Flatten {
    const KIND: &'static str = "Flatten";
    type Config = serde_json::Map<String, serde_json::Value>;
    fn get_config(&self) -> Self::Config {
        Default::default()
    }
    fn from_config(_: Self::Config) -> Result<Self> {
        Ok(Flatten)
    }
    fn examples() -> Vec<super::LayerExample<Self::Config>> {
        vec![super::LayerExample::new(Default::default(), &[3, 2, 2])]
    }
}

impl Layer for Flatten {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input_shape.iter().product()])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.flatten_from(1)?)
    }
}

/// ONNX: `Flatten` at axis 1.
impl super::OnnxForm for Flatten {
    const ONNX_OPS: &'static [&'static str] = &["Flatten"];
    /// ONNX `Flatten` at axis 1, after the batch axis (other axes are the importer's reshapes).
    fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<Self::Config>>> {
        let rank = super::onnx_computed(node, 0)?.len() + 1;
        let axis = super::onnx_axis(node, node.int("axis", 1)?, rank + 1)?;
        Ok((axis == 1).then(|| super::OnnxImport::new(Default::default())))
    }
    fn to_onnx(
        _c: &Self::Config,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> crate::Result<String> {
        let axis = vec![super::OnnxAttr::Int("axis", 1)];
        Ok(g.node("Flatten", vec![l.input.clone()], l.name, axis))
    }
}

/// Keras: `keras.layers.Flatten`, channels-last.
impl super::KerasForm for Flatten {
    fn to_keras(_c: &Self::Config) -> serde_json::Value {
        serde_json::json!({"data_format": "channels_last"})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<Self::Config> {
        a.channels_last()?;
        Ok(Default::default())
    }
}
