//! ONNX's elementwise operators that are not Keras activations, and softmaxes on any axis.

use super::*;

/// [`OnnxUnary`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnaryConfig {
    /// `erf`, `neg`, `sqrt`, `exp`, `log`, `abs`, `reciprocal`, `leaky_relu` or `clip`.
    pub op: String,
    /// LeakyRelu's slope.
    #[serde(default)]
    pub alpha: f64,
    /// Clip's bounds.
    #[serde(default)]
    pub min: f64,
    /// Clip's bounds.
    #[serde(default)]
    pub max: f64,
}

/// The elementwise ONNX operators that are not Keras activations.
#[derive(Debug)]
pub struct OnnxUnary(UnaryConfig);

/// The `op` names [`OnnxUnary`] takes.
pub const UNARY_OPS: [&str; 9] = [
    "erf",
    "neg",
    "sqrt",
    "exp",
    "log",
    "abs",
    "reciprocal",
    "leaky_relu",
    "clip",
];

impl OnnxUnary {
    /// An elementwise op with no parameters.
    pub fn new(op: &str) -> Self {
        OnnxUnary(UnaryConfig {
            op: op.into(),
            alpha: 0.0,
            min: 0.0,
            max: 0.0,
        })
    }
    /// LeakyRelu with slope `alpha`.
    pub fn leaky_relu(alpha: f64) -> Self {
        OnnxUnary(UnaryConfig {
            op: "leaky_relu".into(),
            alpha,
            min: 0.0,
            max: 0.0,
        })
    }
    /// Clip to `[min, max]`.
    pub fn clip(min: f64, max: f64) -> Self {
        OnnxUnary(UnaryConfig {
            op: "clip".into(),
            alpha: 0.0,
            min,
            max,
        })
    }
}

impl Configurable for OnnxUnary {
    const KIND: &'static str = "OnnxUnary";
    type Config = UnaryConfig;
    fn get_config(&self) -> UnaryConfig {
        self.0.clone()
    }
    fn from_config(c: UnaryConfig) -> Result<Self> {
        if !UNARY_OPS.contains(&c.op.as_str()) {
            return Err(config_error(Self::KIND, format!("unknown op '{}'", c.op)));
        }
        Ok(OnnxUnary(c))
    }
    fn examples() -> Vec<LayerExample<UnaryConfig>> {
        // Positive inputs, so that sqrt, log and reciprocal are defined everywhere.
        let positive = rill_nn::layers::SampleValues::Uniform(0.25, 2.0);
        let mut all: Vec<OnnxUnary> = UNARY_OPS[..7].iter().map(|op| OnnxUnary::new(op)).collect();
        all.push(OnnxUnary::leaky_relu(0.1));
        all.push(OnnxUnary::clip(0.5, 1.5));
        all.into_iter()
            .map(|u| LayerExample::new(u.0, &[6]).values(positive))
            .collect()
    }
}

impl Layer for OnnxUnary {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = &self.0;
        Ok(match c.op.as_str() {
            "erf" => x.erf()?,
            "neg" => x.neg()?,
            "sqrt" => x.sqrt()?,
            "exp" => x.exp()?,
            "log" => x.log()?,
            "abs" => x.abs()?,
            "reciprocal" => x.pow_scalar(-1.0)?,
            "leaky_relu" => x.leaky_relu(c.alpha)?,
            "clip" => x.clip(c.min, c.max)?,
            other => return Err(config_error(Self::KIND, format!("unknown op '{other}'"))),
        })
    }
}
/// [`OnnxSoftmax`]'s attributes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SoftmaxConfig {
    /// The axis (batch axis = 0).
    pub axis: usize,
    /// LogSoftmax rather than Softmax.
    pub log: bool,
}

/// ONNX `Softmax` and `LogSoftmax` along any axis but the batch's.
#[derive(Debug)]
pub struct OnnxSoftmax(SoftmaxConfig);

impl Configurable for OnnxSoftmax {
    const KIND: &'static str = "OnnxSoftmax";
    type Config = SoftmaxConfig;
    fn get_config(&self) -> SoftmaxConfig {
        self.0
    }
    fn from_config(c: SoftmaxConfig) -> Result<Self> {
        if c.axis == 0 {
            return Err(config_error(
                Self::KIND,
                "a softmax over the batch axis mixes samples",
            ));
        }
        Ok(OnnxSoftmax(c))
    }
    fn examples() -> Vec<LayerExample<SoftmaxConfig>> {
        let softmax = |axis, log| SoftmaxConfig { axis, log };
        vec![
            LayerExample::new(softmax(1, false), &[3, 4]),
            LayerExample::new(softmax(2, true), &[3, 4]),
        ]
    }
}

impl Layer for OnnxSoftmax {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if self.0.axis > s.len() {
            return Err(config_error(
                Self::KIND,
                format!("axis {} does not fit inputs {}", self.0.axis, full(s)),
            ));
        }
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let a = self.0.axis as isize;
        Ok(if self.0.log {
            x.log_softmax(a)?
        } else {
            x.softmax(a)?
        })
    }
}

/// ONNX: the operator it was imported from.
impl OnnxForm for OnnxUnary {
    const ONNX_OPS: &'static [&'static str] = &[
        "LeakyRelu",
        "Erf",
        "Neg",
        "Sqrt",
        "Exp",
        "Log",
        "Abs",
        "Reciprocal",
        "Clip",
    ];
    /// Each operator of the same name (a clip to [0, ∞) is a ReLU, taken before this).
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<UnaryConfig>>> {
        let unary = match node.op() {
            "LeakyRelu" => OnnxUnary::leaky_relu(node.float("alpha", 0.01)? as f64),
            "Clip" => {
                let (lo, hi) = rill_nn::layers::onnx_clip_bounds(node)?;
                OnnxUnary::clip(lo as f64, hi as f64)
            }
            op => OnnxUnary::new(&op.to_lowercase()),
        };
        Ok(Some(OnnxImport::new(unary.0)))
    }
    fn to_onnx(c: &UnaryConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let x = l.input.clone();
        Ok(match c.op.as_str() {
            "leaky_relu" => {
                let alpha = vec![Float("alpha", c.alpha as f32)];
                g.node("LeakyRelu", vec![x], l.name, alpha)
            }
            "clip" => {
                let lo = g.scalar(&l.part("min"), c.min as f32);
                let hi = g.scalar(&l.part("max"), c.max as f32);
                g.node("Clip", vec![x, lo, hi], l.name, vec![])
            }
            op => {
                let onnx = match op {
                    "erf" => "Erf",
                    "neg" => "Neg",
                    "sqrt" => "Sqrt",
                    "exp" => "Exp",
                    "log" => "Log",
                    "abs" => "Abs",
                    "reciprocal" => "Reciprocal",
                    other => return Err(config_error(Self::KIND, format!("unknown op '{other}'"))),
                };
                g.node(onnx, vec![x], l.name, vec![])
            }
        })
    }
}

/// ONNX: `Softmax` or `LogSoftmax` over the same axis.
impl OnnxForm for OnnxSoftmax {
    const ONNX_OPS: &'static [&'static str] = &["Softmax", "LogSoftmax"];
    /// A softmax over any axis but the batch's (over the last, Keras' `Softmax` takes it).
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<SoftmaxConfig>>> {
        let rank = onnx_computed(node, 0)?.len() + 1;
        let default = if node.opset() >= 13 { -1 } else { 1 };
        let axis = onnx_axis(node, node.int("axis", default)?, rank)?;
        if axis == 0 {
            return Err(onnx_unsupported(
                node,
                "a softmax over the batch axis (axis 0), which mixes samples,",
            ));
        }
        if node.opset() < 13 && axis != rank - 1 {
            return Err(onnx_unsupported(
                node,
                format!("before opset 13, a softmax over axis {axis} of a rank-{rank} input (it flattens the trailing axes)"),
            ));
        }
        let log = node.op() == "LogSoftmax";
        Ok(Some(OnnxImport::new(SoftmaxConfig { axis, log })))
    }
    fn to_onnx(c: &SoftmaxConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let op = if c.log { "LogSoftmax" } else { "Softmax" };
        let axis = vec![Int("axis", c.axis as i64)];
        Ok(g.node(op, vec![l.input.clone()], l.name, axis))
    }
}
