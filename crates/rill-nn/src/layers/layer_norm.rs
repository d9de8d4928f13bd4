use super::{Configurable, Layer};
use crate::{Error, Initializer, Result, Variable};
use rill_core::Tensor;
use serde::{Deserialize, Serialize};

/// [`LayerNormalization`]'s argument.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LayerNormalizationConfig {
    /// Added to the variance.
    pub epsilon: f64,
}

/// Normalises each sample over its last axis, then scales by γ and shifts by β — Keras'
/// `LayerNormalization` (epsilon 1e-3). Identical in training and inference.
#[derive(Debug)]
pub struct LayerNormalization {
    epsilon: f64,
    gamma: Option<Variable>,
    beta: Option<Variable>,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        LayerNormalization {
            epsilon: 1e-3,
            gamma: None,
            beta: None,
        }
    }
}

impl LayerNormalization {
    /// Layer normalization with Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the variance epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }
}

impl Configurable for LayerNormalization {
    const KIND: &'static str = "LayerNormalization";
    type Config = LayerNormalizationConfig;
    fn get_config(&self) -> LayerNormalizationConfig {
        LayerNormalizationConfig {
            epsilon: self.epsilon,
        }
    }
    fn from_config(c: LayerNormalizationConfig) -> Result<Self> {
        Ok(LayerNormalization::new().epsilon(c.epsilon))
    }
    fn examples() -> Vec<super::LayerExample<LayerNormalizationConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(LayerNormalization::new().get_config(), &[6]),
            E::new(LayerNormalization::new().epsilon(0.1).get_config(), &[3, 5]),
        ]
    }
}

impl Layer for LayerNormalization {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.is_empty() {
            return Err(Error::Config(
                "LayerNormalization needs inputs with a feature axis".into(),
            ));
        }
        Ok(input_shape.to_vec())
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let c = input_shape[input_shape.len() - 1];
        self.gamma = Some(Variable::trainable("gamma", Initializer::Ones.init(&[c])?)?);
        self.beta = Some(Variable::trainable("beta", Initializer::Zeros.init(&[c])?)?);
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let (g, b) = match (&self.gamma, &self.beta) {
            (Some(g), Some(b)) => (g.value(), b.value()),
            _ => return Err(Error::not_built(Self::KIND)),
        };
        let mean = x.mean(&[-1], true)?;
        let var = x.variance(&[-1], true)?;
        let normed = x.sub(&mean)?.div(&var.add_scalar(self.epsilon)?.sqrt()?)?;
        Ok(normed.mul(&g)?.add(&b)?)
    }
    fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        // The steps stay where they are: their mask with them.
        super::pass_mask(masks)
    }
    fn variables(&self) -> Vec<Variable> {
        self.gamma.iter().chain(self.beta.iter()).cloned().collect()
    }
}

/// ONNX: `LayerNormalization` over the last axis.
impl super::OnnxForm for LayerNormalization {
    const ONNX_OPS: &'static [&'static str] = &["LayerNormalization"];
    /// ONNX `LayerNormalization` over the last axis, with a scale and an optional bias.
    fn from_onnx(
        node: &dyn super::OnnxNode,
    ) -> Result<Option<super::OnnxImport<LayerNormalizationConfig>>> {
        use super::{onnx_axis, onnx_computed, onnx_constant, onnx_unsupported};
        if node.outputs_used() > 1 {
            return Err(onnx_unsupported(
                node,
                "reading the mean and deviation outputs",
            ));
        }
        let s = onnx_computed(node, 0)?;
        let rank = s.len() + 1;
        if onnx_axis(node, node.int("axis", -1)?, rank)? != rank - 1 {
            return Err(onnx_unsupported(
                node,
                "a normalisation over more than the last axis",
            ));
        }
        let c = *s
            .last()
            .ok_or_else(|| onnx_unsupported(node, "an input without a feature axis"))?;
        let scale = onnx_constant(node, 1, "Scale")?;
        let bias = node.constant(2)?;
        if scale.shape() != [c] || bias.as_ref().is_some_and(|b| b.shape() != [c]) {
            return Err(onnx_unsupported(
                node,
                format!("parameters that are not vectors of {c}"),
            ));
        }
        let beta = bias.unwrap_or_else(|| Tensor::zeros(&[c], rill_core::DType::F32));
        let config = LayerNormalizationConfig {
            epsilon: node.float("epsilon", 1e-5)? as f64,
        };
        Ok(Some(
            super::OnnxImport::new(config).weights(vec![scale, beta]),
        ))
    }
    fn to_onnx(
        c: &LayerNormalizationConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        use super::OnnxAttr::{Float, Int};
        let inputs = vec![
            l.input.clone(),
            g.weight(&l.part("gamma"), l.weight(0)?)?,
            g.weight(&l.part("beta"), l.weight(1)?)?,
        ];
        let attrs = vec![Int("axis", -1), Float("epsilon", c.epsilon as f32)];
        Ok(g.node("LayerNormalization", inputs, l.name, attrs))
    }
}

/// Keras: `keras.layers.LayerNormalization` over the last axis, with beta and gamma.
impl super::KerasForm for LayerNormalization {
    fn to_keras(c: &LayerNormalizationConfig) -> serde_json::Value {
        serde_json::json!({"axis": -1, "epsilon": c.epsilon, "center": true, "scale": true})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, rank: usize) -> Result<LayerNormalizationConfig> {
        use serde_json::json;
        a.last_axis("axis", rank)?;
        a.expect(
            "center",
            &[json!(true)],
            "Rill's LayerNormalization has a beta",
        )?;
        a.expect(
            "scale",
            &[json!(true)],
            "Rill's LayerNormalization has a gamma",
        )?;
        Ok(LayerNormalizationConfig {
            epsilon: a.number("epsilon", Some(1e-3))?,
        })
    }
}
