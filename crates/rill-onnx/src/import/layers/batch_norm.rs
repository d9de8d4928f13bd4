//! ONNX `BatchNormalization` over axis 1.

use super::*;

/// [`OnnxBatchNorm`]'s attributes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BatchNormConfig {
    /// Added to the variance.
    pub epsilon: f64,
    /// How much of the running statistics each training batch keeps.
    pub momentum: f64,
}

/// ONNX `BatchNormalization`: normalises over axis 1 (channels-first). Inference uses the
/// running statistics; training (in `fit`) uses the batch's and updates the running ones.
#[derive(Debug)]
pub struct OnnxBatchNorm {
    config: BatchNormConfig,
    weights: Vec<Variable>,
}

impl Configurable for OnnxBatchNorm {
    const KIND: &'static str = "OnnxBatchNorm";
    type Config = BatchNormConfig;
    fn get_config(&self) -> BatchNormConfig {
        self.config
    }
    fn from_config(config: BatchNormConfig) -> Result<Self> {
        Ok(OnnxBatchNorm {
            config,
            weights: Vec::new(),
        })
    }
    fn examples() -> Vec<LayerExample<BatchNormConfig>> {
        let config = BatchNormConfig {
            epsilon: 1e-3,
            momentum: 0.9,
        };
        vec![LayerExample::new(config, &[3, 4, 4])]
    }
}

impl Layer for OnnxBatchNorm {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if s.is_empty() {
            return Err(config_error(Self::KIND, "needs inputs with a channel axis"));
        }
        Ok(s.to_vec())
    }
    fn build(&mut self, s: &[usize]) -> Result<()> {
        let c = s[0];
        let (zeros, ones) = (rill_nn::Initializer::Zeros, rill_nn::Initializer::Ones);
        self.weights = vec![
            Variable::trainable("scale", ones.init(&[c])?)?,
            Variable::trainable("bias", zeros.init(&[c])?)?,
            Variable::fixed("mean", zeros.init(&[c])?),
            Variable::fixed("variance", ones.init(&[c])?),
        ];
        Ok(())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let [scale, bias, mean, var] = &self.weights[..] else {
            return Err(not_built(Self::KIND));
        };
        // Per-channel values broadcast as (C, 1, 1, …) against (N, C, …).
        let mut param_shape = vec![x.shape()[1]];
        param_shape.extend(std::iter::repeat_n(1, x.rank() - 2));
        let p = |t: Tensor| t.reshape(&param_shape);
        let (m, v) = if training && scale.is_trainable() {
            let axes: Vec<isize> = (0..x.rank() as isize).filter(|&a| a != 1).collect();
            let bm = x.mean(&axes, false)?;
            let bv = x.variance(&axes, false)?;
            let k = self.config.momentum;
            no_grad(|| -> Result<()> {
                for (running, batch) in [(mean, &bm), (var, &bv)] {
                    let new = running
                        .value()
                        .mul_scalar(k)?
                        .add(&batch.detach().mul_scalar(1.0 - k)?)?;
                    running.assign(&new)?;
                }
                Ok(())
            })?;
            (bm, bv)
        } else {
            (mean.value(), var.value())
        };
        let inv = p(v.add_scalar(self.config.epsilon)?.sqrt()?)?;
        let normed = x.sub(&p(m)?)?.div(&inv)?;
        Ok(normed.mul(&p(scale.value())?)?.add(&p(bias.value())?)?)
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.clone()
    }
}

/// ONNX: the `BatchNormalization` over axis 1 it was imported from.
impl OnnxForm for OnnxBatchNorm {
    const ONNX_OPS: &'static [&'static str] = &["BatchNormalization"];
    /// ONNX `BatchNormalization` in inference over axis 1, its four parameters constants.
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<BatchNormConfig>>> {
        if node.outputs_used() > 1 {
            return Err(onnx_unsupported(
                node,
                "reading the running statistics' outputs",
            ));
        }
        if node.int("training_mode", 0)? != 0 {
            return Err(onnx_unsupported(
                node,
                "training_mode=1 in an inference graph",
            ));
        }
        let s = onnx_computed(node, 0)?;
        let c = *s
            .first()
            .ok_or_else(|| onnx_unsupported(node, "an input without a channel axis"))?;
        let mut params = Vec::with_capacity(4);
        for (i, what) in ["scale", "B", "input_mean", "input_var"]
            .into_iter()
            .enumerate()
        {
            let p = onnx_constant(node, i + 1, what)?;
            if p.shape() != [c] {
                return Err(onnx_unsupported(
                    node,
                    format!("{what} of shape {:?} for {c} channels", p.shape()),
                ));
            }
            params.push(p);
        }
        let config = BatchNormConfig {
            epsilon: node.float("epsilon", 1e-5)? as f64,
            momentum: node.float("momentum", 0.9)? as f64,
        };
        Ok(Some(OnnxImport::new(config).weights(params)))
    }
    fn to_onnx(c: &BatchNormConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let mut inputs = vec![l.input.clone()];
        for (i, part) in ["scale", "bias", "mean", "variance"].iter().enumerate() {
            inputs.push(g.weight(&l.part(part), l.weight(i)?)?);
        }
        let attrs = vec![
            Float("epsilon", c.epsilon as f32),
            Float("momentum", c.momentum as f32),
        ];
        Ok(g.node("BatchNormalization", inputs, l.name, attrs))
    }
}
