//! ONNX operators that move or pad values: `Transpose`, `Pad`, and `ReduceMean`.

use super::*;

/// [`OnnxTranspose`]'s attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransposeConfig {
    /// The permutation, batch axis included (it stays first).
    pub perm: Vec<usize>,
}

/// ONNX `Transpose` (the batch axis stays where it is).
#[derive(Debug)]
pub struct OnnxTranspose(TransposeConfig);

impl Configurable for OnnxTranspose {
    const KIND: &'static str = "OnnxTranspose";
    type Config = TransposeConfig;
    fn get_config(&self) -> TransposeConfig {
        self.0.clone()
    }
    fn from_config(c: TransposeConfig) -> Result<Self> {
        let mut sorted = c.perm.clone();
        sorted.sort_unstable();
        if c.perm.first() != Some(&0) || sorted != (0..c.perm.len()).collect::<Vec<_>>() {
            return Err(config_error(
                Self::KIND,
                format!(
                    "perm {:?} must be a permutation that keeps the batch axis first",
                    c.perm
                ),
            ));
        }
        Ok(OnnxTranspose(c))
    }
    fn examples() -> Vec<LayerExample<TransposeConfig>> {
        let perm = vec![0, 3, 1, 2];
        vec![LayerExample::new(TransposeConfig { perm }, &[4, 5, 3])]
    }
}

impl Layer for OnnxTranspose {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if s.len() + 1 != self.0.perm.len() {
            return Err(config_error(
                Self::KIND,
                format!("perm {:?} does not fit inputs {}", self.0.perm, full(s)),
            ));
        }
        Ok(self.0.perm[1..].iter().map(|&a| s[a - 1]).collect())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.permute(&self.0.perm)?)
    }
}
/// [`OnnxPad`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PadConfig {
    /// (before, after) for each axis after the batch axis.
    pub pads: Vec<(usize, usize)>,
    /// The value written into the border.
    pub value: f64,
}

/// ONNX `Pad` in `constant` mode.
#[derive(Debug)]
pub struct OnnxPad(PadConfig);

impl Configurable for OnnxPad {
    const KIND: &'static str = "OnnxPad";
    type Config = PadConfig;
    fn get_config(&self) -> PadConfig {
        self.0.clone()
    }
    fn from_config(c: PadConfig) -> Result<Self> {
        let flat: Vec<usize> = c.pads.iter().flat_map(|&(a, b)| [a, b]).collect();
        if flat.iter().any(|&p| p > rill_nn::layers::MAX_DIM) {
            return Err(config_error(
                Self::KIND,
                format!("pads {flat:?} are too large"),
            ));
        }
        Ok(OnnxPad(c))
    }
    fn examples() -> Vec<LayerExample<PadConfig>> {
        let config = PadConfig {
            pads: vec![(1, 0), (0, 2)],
            value: 0.5,
        };
        vec![LayerExample::new(config, &[3, 4])]
    }
}

impl Layer for OnnxPad {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if s.len() != self.0.pads.len() {
            return Err(config_error(
                Self::KIND,
                format!("{} pads for inputs {}", self.0.pads.len(), full(s)),
            ));
        }
        let out: Vec<usize> = s
            .iter()
            .zip(&self.0.pads)
            .map(|(&d, &(a, b))| d.saturating_add(a).saturating_add(b))
            .collect();
        bounded(Self::KIND, "an output", &out)?;
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let mut pads = vec![(0, 0)];
        pads.extend(&self.0.pads);
        Ok(x.pad(&pads, self.0.value)?)
    }
}
/// [`OnnxReduceMean`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReduceMeanConfig {
    /// Axes averaged over (batch axis = 0, never among them).
    pub axes: Vec<usize>,
    /// Whether reduced axes stay as size 1.
    pub keepdims: bool,
}

/// ONNX `ReduceMean` (and `GlobalAveragePool`, which is its mean over the spatial axes).
#[derive(Debug)]
pub struct OnnxReduceMean(ReduceMeanConfig);

impl Configurable for OnnxReduceMean {
    const KIND: &'static str = "OnnxReduceMean";
    type Config = ReduceMeanConfig;
    fn get_config(&self) -> ReduceMeanConfig {
        self.0.clone()
    }
    fn from_config(c: ReduceMeanConfig) -> Result<Self> {
        if c.axes.is_empty() || c.axes.contains(&0) {
            return Err(config_error(
                Self::KIND,
                format!(
                    "axes {:?} must be given and leave the batch axis alone",
                    c.axes
                ),
            ));
        }
        Ok(OnnxReduceMean(c))
    }
    fn examples() -> Vec<LayerExample<ReduceMeanConfig>> {
        let mean = |axes: &[usize], keepdims| ReduceMeanConfig {
            axes: axes.to_vec(),
            keepdims,
        };
        vec![
            LayerExample::new(mean(&[2, 3], true), &[3, 4, 5]),
            LayerExample::new(mean(&[1], false), &[3, 4]),
        ]
    }
}

impl Layer for OnnxReduceMean {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if self.0.axes.iter().any(|&a| a > s.len()) {
            return Err(config_error(
                Self::KIND,
                format!("axes {:?} do not fit inputs {}", self.0.axes, full(s)),
            ));
        }
        Ok(s.iter()
            .enumerate()
            .filter_map(
                |(i, &d)| match (self.0.axes.contains(&(i + 1)), self.0.keepdims) {
                    (false, _) => Some(d),
                    (true, true) => Some(1),
                    (true, false) => None,
                },
            )
            .collect())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let axes: Vec<isize> = self.0.axes.iter().map(|&a| a as isize).collect();
        Ok(x.mean(&axes, self.0.keepdims)?)
    }
}

/// ONNX: `Transpose` by the same permutation.
impl OnnxForm for OnnxTranspose {
    const ONNX_OPS: &'static [&'static str] = &["Transpose"];
    /// ONNX `Transpose` that keeps the batch axis first (no perm: all axes reversed).
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<TransposeConfig>>> {
        let rank = onnx_computed(node, 0)?.len() + 1;
        let perm = match node.ints("perm")? {
            Some(p) => p
                .iter()
                .map(|&v| onnx_axis(node, v, rank))
                .collect::<Result<Vec<_>>>()?,
            None => (0..rank).rev().collect(),
        };
        if perm.first() != Some(&0) {
            return Err(onnx_unsupported(
                node,
                format!("perm {perm:?}, which moves the batch axis,"),
            ));
        }
        Ok(Some(OnnxImport::new(TransposeConfig { perm })))
    }
    fn to_onnx(c: &TransposeConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let perm = vec![Ints("perm", sizes(&c.perm))];
        Ok(g.node("Transpose", vec![l.input.clone()], l.name, perm))
    }
}

/// ONNX: `Pad` with the pads as an input (batch axis unpadded) and the value as a scalar.
impl OnnxForm for OnnxPad {
    const ONNX_OPS: &'static [&'static str] = &["Pad"];
    /// ONNX `Pad` with a constant, never on the batch axis; pads as an input from opset 11 on.
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<PadConfig>>> {
        let r = onnx_computed(node, 0)?.len() + 1;
        let mode = node.string("mode")?.unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(onnx_unsupported(
                node,
                format!("'{mode}' mode (only 'constant')"),
            ));
        }
        let (pads, value) = if node.opset() >= 11 {
            let pads = node
                .constant_ints(1)?
                .ok_or_else(|| onnx_unsupported(node, "pads that are not a constant"))?;
            let value = node
                .constant(2)?
                .and_then(|c| c.to_vec::<f32>().ok()?.first().copied())
                .unwrap_or(0.0);
            if node.constant(3)?.is_some() {
                return Err(onnx_unsupported(node, "axes"));
            }
            (pads, value)
        } else {
            (
                node.ints("pads")?.unwrap_or_default(),
                node.float("value", 0.0)?,
            )
        };
        if pads.len() != 2 * r || pads.iter().any(|&p| p < 0) {
            return Err(onnx_unsupported(
                node,
                format!(
                    "pads {pads:?} for a rank-{r} input (only non-negative pads on every axis)"
                ),
            ));
        }
        if pads[0] != 0 || pads[r] != 0 {
            return Err(onnx_unsupported(node, "padding the batch axis"));
        }
        let pairs = (1..r)
            .map(|i| (pads[i] as usize, pads[i + r] as usize))
            .collect();
        Ok(Some(OnnxImport::new(PadConfig {
            pads: pairs,
            value: value as f64,
        })))
    }
    fn to_onnx(c: &PadConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let pads: Vec<i64> = std::iter::once(0)
            .chain(c.pads.iter().map(|p| p.0 as i64))
            .chain(std::iter::once(0))
            .chain(c.pads.iter().map(|p| p.1 as i64))
            .collect();
        let pads = g.int64s(&l.part("pads"), &pads);
        // −0 pads exactly as 0 does, and keeps onnxruntime from fusing this Pad into a
        // following pooling or convolution: its fusion takes only a value whose bytes are all
        // zero, then adds the pads to the next node's without checking them against its window
        // — which fails for pads as large as the window.
        let value = if c.value == 0.0 { -0.0 } else { c.value as f32 };
        let value = g.scalar(&l.part("value"), value);
        Ok(g.node("Pad", vec![l.input.clone(), pads, value], l.name, vec![]))
    }
}

/// ONNX: `ReduceMean` over the same axes.
impl OnnxForm for OnnxReduceMean {
    const ONNX_OPS: &'static [&'static str] = &["ReduceMean", "GlobalAveragePool"];
    /// ONNX `ReduceMean` over axes other than the batch's (axes an input from opset 18 on), and
    /// `GlobalAveragePool`, the mean over every spatial axis.
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<ReduceMeanConfig>>> {
        let s = onnx_computed(node, 0)?;
        if node.op() == "GlobalAveragePool" {
            if s.len() < 2 {
                return Err(onnx_unsupported(
                    node,
                    format!("inputs {} without spatial axes", rill_nn::batch_shape(&s)),
                ));
            }
            let config = ReduceMeanConfig {
                axes: (2..=s.len()).collect(),
                keepdims: true,
            };
            return Ok(Some(OnnxImport::new(config)));
        }
        let r = s.len() + 1;
        let axes = if node.opset() >= 18 {
            node.constant_ints(1)?
        } else {
            node.ints("axes")?
        };
        let axes = axes.ok_or_else(|| {
            onnx_unsupported(node, "a mean over every axis, the batch axis included,")
        })?;
        let axes = axes
            .iter()
            .map(|&v| match onnx_axis(node, v, r)? {
                0 => Err(onnx_unsupported(
                    node,
                    "a mean over the batch axis (axis 0), which mixes samples,",
                )),
                a => Ok(a),
            })
            .collect::<Result<Vec<_>>>()?;
        let config = ReduceMeanConfig {
            axes,
            keepdims: node.int("keepdims", 1)? != 0,
        };
        Ok(Some(OnnxImport::new(config)))
    }
    fn to_onnx(c: &ReduceMeanConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let attrs = vec![
            Ints("axes", sizes(&c.axes)),
            Int("keepdims", i64::from(c.keepdims)),
        ];
        Ok(g.node("ReduceMean", vec![l.input.clone()], l.name, attrs))
    }
}
