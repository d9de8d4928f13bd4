//! ONNX arithmetic with numpy broadcasting: with a constant (a layer holding it as a
//! variable) or between two computed values (a layer of two inputs), and `Concat` on any axis.

use super::*;

/// The arithmetic operators of ONNX, each with numpy broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arithmetic {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// aᵇ
    Pow,
}

impl Arithmetic {
    /// ONNX's name for the operator.
    pub fn onnx_op(self) -> &'static str {
        match self {
            Arithmetic::Add => "Add",
            Arithmetic::Sub => "Sub",
            Arithmetic::Mul => "Mul",
            Arithmetic::Div => "Div",
            Arithmetic::Pow => "Pow",
        }
    }
    fn apply(self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Arithmetic::Add => a.add(b)?,
            Arithmetic::Sub => a.sub(b)?,
            Arithmetic::Mul => a.mul(b)?,
            Arithmetic::Div => a.div(b)?,
            Arithmetic::Pow => a.pow(b)?,
        })
    }
}

/// Numpy's broadcast of two full shapes, or `None` when they do not broadcast.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        if i + s.len() < r {
            1
        } else {
            s[i + s.len() - r]
        }
    };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The per-sample shape of `x op c` for per-sample `s` and a constant of shape `c`, or an error
/// when the constant would change the batch axis.
fn with_constant(kind: &str, s: &[usize], c: &[usize]) -> Result<Vec<usize>> {
    let mut x = vec![2usize];
    x.extend(s);
    match broadcast(&x, c) {
        Some(out) if out.len() == x.len() && out[0] == 2 => Ok(out[1..].to_vec()),
        _ => Err(config_error(
            kind,
            format!(
                "a constant of shape {c:?} does not broadcast against inputs {}",
                full(s)
            ),
        )),
    }
}

/// [`OnnxConstantOp`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConstantOpConfig {
    /// The operator.
    pub op: Arithmetic,
    /// The constant's shape.
    pub shape: Vec<usize>,
    /// `constant op x` rather than `x op constant`.
    pub constant_first: bool,
    /// Whether `fit` trains the constant (true for weights, false for literal constants).
    pub trainable: bool,
}

/// Arithmetic between the input and a constant held as a variable (a bias added after a
/// MatMul, a normalisation's mean and scale, GELU's ½).
#[derive(Debug)]
pub struct OnnxConstantOp {
    config: ConstantOpConfig,
    constant: Option<Variable>,
}

impl Configurable for OnnxConstantOp {
    const KIND: &'static str = "OnnxConstantOp";
    type Config = ConstantOpConfig;
    fn get_config(&self) -> ConstantOpConfig {
        self.config.clone()
    }
    fn from_config(config: ConstantOpConfig) -> Result<Self> {
        if !config.shape.is_empty() {
            rill_nn::layers::check_sizes(Self::KIND, "shape", &config.shape)?;
        }
        Ok(OnnxConstantOp {
            config,
            constant: None,
        })
    }
    fn examples() -> Vec<LayerExample<ConstantOpConfig>> {
        let op = |op, shape: &[usize], constant_first| ConstantOpConfig {
            op,
            shape: shape.to_vec(),
            constant_first,
            trainable: true,
        };
        vec![
            LayerExample::new(op(Arithmetic::Add, &[4], false), &[3, 4]),
            LayerExample::new(op(Arithmetic::Sub, &[4], true), &[4]),
            LayerExample::new(op(Arithmetic::Mul, &[3, 1], false), &[3, 4]),
        ]
    }
}

impl Layer for OnnxConstantOp {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        with_constant(Self::KIND, s, &self.config.shape)
    }
    fn build(&mut self, s: &[usize]) -> Result<()> {
        self.compute_output_shape(s)?;
        let zeros = rill_nn::Initializer::Zeros.init(&self.config.shape)?;
        self.constant = Some(if self.config.trainable {
            Variable::trainable("constant", zeros)?
        } else {
            Variable::fixed("constant", zeros)
        });
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = self
            .constant
            .as_ref()
            .ok_or_else(|| not_built(Self::KIND))?
            .value();
        if self.config.constant_first {
            self.config.op.apply(&c, x)
        } else {
            self.config.op.apply(x, &c)
        }
    }
    fn variables(&self) -> Vec<Variable> {
        self.constant.iter().cloned().collect()
    }
}
/// [`OnnxBinary`]'s attributes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BinaryConfig {
    /// The operator.
    pub op: Arithmetic,
}

/// ONNX's binary arithmetic between two computed values, with broadcasting: a layer of two
/// inputs.
#[derive(Debug, Clone, Copy)]
pub struct OnnxBinary(pub Arithmetic);

/// The error for a layer of several inputs given one through the single-input path.
fn several(kind: &str) -> Error {
    config_error(kind, "takes several inputs")
}

impl Configurable for OnnxBinary {
    const KIND: &'static str = "OnnxBinary";
    type Config = BinaryConfig;
    fn get_config(&self) -> BinaryConfig {
        BinaryConfig { op: self.0 }
    }
    fn from_config(c: BinaryConfig) -> Result<Self> {
        Ok(OnnxBinary(c.op))
    }
    fn examples() -> Vec<LayerExample<BinaryConfig>> {
        [Arithmetic::Add, Arithmetic::Sub, Arithmetic::Mul]
            .into_iter()
            .map(|op| LayerExample::new(BinaryConfig { op }, &[2, 3]).inputs(2))
            .collect()
    }
}

impl Layer for OnnxBinary {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, _: &[usize]) -> Result<Vec<usize>> {
        Err(several(Self::KIND))
    }
    fn call(&self, _: &Tensor, _: bool) -> Result<Tensor> {
        Err(several(Self::KIND))
    }
    fn output_shape_for(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        match shapes {
            // Both carry the batch axis first; ONNX aligns axes from the right, so the ranks
            // must agree for batch to meet batch.
            [a, b] if a.len() == b.len() => broadcast(a, b).ok_or_else(|| {
                config_error(Self::KIND, format!("inputs {} and {} do not broadcast", full(a), full(b)))
            }),
            [a, b] => Err(config_error(
                Self::KIND,
                format!("inputs {} and {} differ in rank, which would align the batch axis with another", full(a), full(b)),
            )),
            _ => Err(config_error(Self::KIND, "takes two inputs")),
        }
    }
    fn call_on(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        match inputs {
            [a, b] => self.0.apply(a, b),
            _ => Err(config_error(Self::KIND, "takes two inputs")),
        }
    }
}

/// ONNX: the operator itself.
impl OnnxForm for OnnxBinary {
    fn to_onnx(c: &BinaryConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        Ok(g.node(c.op.onnx_op(), l.inputs.clone(), l.name, vec![]))
    }
}

/// [`OnnxConcat`]'s attributes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ConcatConfig {
    /// The axis (batch axis = 0).
    pub axis: usize,
}

/// ONNX `Concat` along any axis but the batch's: a layer of several inputs.
#[derive(Debug, Clone, Copy)]
pub struct OnnxConcat {
    /// The axis (batch axis = 0).
    pub axis: usize,
}

impl Configurable for OnnxConcat {
    const KIND: &'static str = "OnnxConcat";
    type Config = ConcatConfig;
    fn get_config(&self) -> ConcatConfig {
        ConcatConfig { axis: self.axis }
    }
    fn from_config(c: ConcatConfig) -> Result<Self> {
        if c.axis == 0 {
            return Err(config_error(
                Self::KIND,
                "needs an axis after the batch axis",
            ));
        }
        Ok(OnnxConcat { axis: c.axis })
    }
    fn examples() -> Vec<LayerExample<ConcatConfig>> {
        vec![
            LayerExample::new(ConcatConfig { axis: 1 }, &[2, 3]).inputs(2),
            LayerExample::new(ConcatConfig { axis: 2 }, &[2, 3]).inputs(3),
        ]
    }
}

impl Layer for OnnxConcat {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, _: &[usize]) -> Result<Vec<usize>> {
        Err(several(Self::KIND))
    }
    fn call(&self, _: &Tensor, _: bool) -> Result<Tensor> {
        Err(several(Self::KIND))
    }
    fn output_shape_for(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let a = self.axis - 1;
        let first = shapes
            .first()
            .ok_or_else(|| config_error(Self::KIND, "takes at least one input"))?;
        let agree = shapes.iter().all(|s| {
            s.len() == first.len()
                && a < s.len()
                && s.iter()
                    .zip(first)
                    .enumerate()
                    .all(|(i, (x, y))| i == a || x == y)
        });
        if !agree {
            return Err(config_error(
                Self::KIND,
                format!(
                    "inputs {} differ off axis {}",
                    shapes
                        .iter()
                        .map(|s| full(s))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.axis
                ),
            ));
        }
        let mut out = first.clone();
        out[a] = shapes.iter().map(|s| s[a]).sum();
        Ok(out)
    }
    fn call_on(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        Ok(Tensor::concat(inputs, self.axis as isize)?)
    }
}

/// ONNX: `Concat` on its axis.
impl OnnxForm for OnnxConcat {
    fn to_onnx(c: &ConcatConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let attrs = vec![Int("axis", c.axis as i64)];
        Ok(g.node("Concat", l.inputs.clone(), l.name, attrs))
    }
}

/// ONNX: the operator with the constant as a weight, on the side it came from.
impl OnnxForm for OnnxConstantOp {
    fn to_onnx(c: &ConstantOpConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let constant = g.weight(&l.part("constant"), l.weight(0)?)?;
        let inputs = if c.constant_first {
            vec![constant, l.input.clone()]
        } else {
            vec![l.input.clone(), constant]
        };
        Ok(g.node(c.op.onnx_op(), inputs, l.name, vec![]))
    }
}

/// No attributes: an empty JSON object.
pub type NoConfig = serde_json::Map<String, serde_json::Value>;

/// ONNX `MatMul` of two computed values (attention's scores and mixing): a batched product
/// whose leading axes — the batch's first — broadcast, as NumPy's `matmul`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnnxMatMul;

impl Configurable for OnnxMatMul {
    const KIND: &'static str = "OnnxMatMul";
    type Config = NoConfig;
    fn get_config(&self) -> NoConfig {
        NoConfig::new()
    }
    fn from_config(_: NoConfig) -> Result<Self> {
        Ok(OnnxMatMul)
    }
    fn examples() -> Vec<LayerExample<NoConfig>> {
        vec![LayerExample::new(NoConfig::new(), &[2, 3, 3]).inputs(2)]
    }
}

impl Layer for OnnxMatMul {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, _: &[usize]) -> Result<Vec<usize>> {
        Err(several(Self::KIND))
    }
    fn call(&self, _: &Tensor, _: bool) -> Result<Tensor> {
        Err(several(Self::KIND))
    }
    fn output_shape_for(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let bad = || {
            config_error(
                Self::KIND,
                format!(
                    "inputs {} do not multiply (two of the same rank, at least (rows, columns) each, the first's columns the second's rows)",
                    shapes.iter().map(|s| full(s)).collect::<Vec<_>>().join(" and ")
                ),
            )
        };
        let [a, b] = shapes else {
            return Err(bad());
        };
        let r = a.len();
        if r < 2 || b.len() != r || a[r - 1] != b[r - 2] {
            return Err(bad());
        }
        let mut out = broadcast(&a[..r - 2], &b[..r - 2]).ok_or_else(bad)?;
        out.extend([a[r - 2], b[r - 1]]);
        bounded(Self::KIND, "an output", &out)?;
        Ok(out)
    }
    fn call_on(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        match inputs {
            [a, b] => Ok(a.matmul(b)?),
            _ => Err(config_error(Self::KIND, "takes two inputs")),
        }
    }
}

/// ONNX: `MatMul` itself.
impl OnnxForm for OnnxMatMul {
    fn to_onnx(_c: &NoConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        Ok(g.node("MatMul", l.inputs.clone(), l.name, vec![]))
    }
}
