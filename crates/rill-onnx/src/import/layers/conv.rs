//! ONNX `Conv` (2-D, NCHW, OIHW kernel, explicit pads, groups).

use super::*;

/// [`OnnxConv`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConvConfig {
    /// Output channels.
    pub filters: usize,
    /// Window height and width.
    pub kernel_shape: [usize; 2],
    /// Steps.
    pub strides: [usize; 2],
    /// Zero padding, `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Gaps between window taps.
    pub dilations: [usize; 2],
    /// Channel groups (the input channels for a depthwise convolution).
    pub group: usize,
    /// Whether a bias is added.
    pub use_bias: bool,
}

/// ONNX `Conv` in two dimensions over NCHW batches, with an OIHW kernel.
#[derive(Debug)]
pub struct OnnxConv {
    config: ConvConfig,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Configurable for OnnxConv {
    const KIND: &'static str = "OnnxConv";
    type Config = ConvConfig;
    fn get_config(&self) -> ConvConfig {
        self.config.clone()
    }
    fn from_config(config: ConvConfig) -> Result<Self> {
        let c = &config;
        if c.group == 0 || c.filters == 0 || !c.filters.is_multiple_of(c.group) {
            return Err(config_error(
                Self::KIND,
                format!(
                    "{} filters cannot be split into {} groups",
                    c.filters, c.group
                ),
            ));
        }
        rill_nn::layers::check_sizes(Self::KIND, "filters", &[c.filters])?;
        rill_nn::layers::check_sizes(Self::KIND, "kernel_shape", &c.kernel_shape)?;
        Ok(OnnxConv {
            config,
            kernel: None,
            bias: None,
        })
    }
    fn examples() -> Vec<LayerExample<ConvConfig>> {
        let conv = |filters, group, pads, strides, use_bias| ConvConfig {
            filters,
            kernel_shape: [3, 3],
            strides,
            pads,
            dilations: [1, 1],
            group,
            use_bias,
        };
        vec![
            LayerExample::new(conv(4, 1, [1, 0, 1, 2], [1, 2], true), &[2, 6, 7]),
            // Depthwise: a group per input channel.
            LayerExample::new(conv(6, 3, [0; 4], [1, 1], false), &[3, 5, 5]),
        ]
    }
}

impl Layer for OnnxConv {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        if s.len() != 3 || !s[0].is_multiple_of(c.group) {
            return Err(config_error(
                Self::KIND,
                format!("expects (channels, height, width) inputs with channels divisible by {}, found {}", c.group, full(s)),
            ));
        }
        let (oh, ow) = window_hw(
            Self::KIND,
            s,
            &c.pads,
            c.kernel_shape,
            c.strides,
            c.dilations,
        )?;
        let [kh, kw] = c.kernel_shape;
        bounded(
            Self::KIND,
            "a patch matrix",
            &[oh, ow, kh, kw, s[0] / c.group],
        )?;
        bounded(Self::KIND, "an output", &[c.filters, oh, ow])?;
        Ok(vec![c.filters, oh, ow])
    }
    fn build(&mut self, s: &[usize]) -> Result<()> {
        self.compute_output_shape(s)?;
        let c = &self.config;
        let [kh, kw] = c.kernel_shape;
        self.kernel = Some(Variable::trainable(
            "kernel",
            rill_nn::Initializer::Zeros.init(&[c.filters, s[0] / c.group, kh, kw])?,
        )?);
        self.bias = if c.use_bias {
            Some(Variable::trainable(
                "bias",
                rill_nn::Initializer::Zeros.init(&[c.filters])?,
            )?)
        } else {
            None
        };
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = &self.config;
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| not_built(Self::KIND))?
            .value();
        let x = pad_hw(&nhwc(x)?, &c.pads, 0.0)?;
        let options = Conv2dOptions {
            strides: (c.strides[0], c.strides[1]),
            padding: Padding::Valid,
            dilation: (c.dilations[0], c.dilations[1]),
        };
        // OIHW → HWIO, Rill's kernel layout.
        let hwio = kernel.permute(&[2, 3, 1, 0])?;
        let y = if c.group == 1 {
            x.conv2d(&hwio, &options)?
        } else {
            let (cin, cout) = (x.shape()[3] / c.group, c.filters / c.group);
            let parts = (0..c.group)
                .map(|g| {
                    let xg = x.slice(3, g * cin, (g + 1) * cin)?;
                    let kg = hwio.slice(3, g * cout, (g + 1) * cout)?;
                    xg.conv2d(&kg, &options)
                })
                .collect::<rill_core::Result<Vec<_>>>()?;
            Tensor::concat(&parts, 3)?
        };
        let y = match &self.bias {
            Some(b) => y.add(&b.value())?,
            None => y,
        };
        nchw(&y)
    }
    fn variables(&self) -> Vec<Variable> {
        self.kernel
            .iter()
            .chain(self.bias.iter())
            .cloned()
            .collect()
    }
}

/// ONNX: the `Conv` it was imported from, in the file's own layout.
impl OnnxForm for OnnxConv {
    const ONNX_OPS: &'static [&'static str] = &["Conv"];
    /// ONNX `Conv` in two dimensions (1-D ones arrive lifted to height 1 by the importer).
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<ConvConfig>>> {
        let s = onnx_computed(node, 0)?;
        let w = onnx_constant(node, 1, "W")?;
        if s.len() != 3 || w.rank() != 4 {
            return Err(onnx_unsupported(
                node,
                format!(
                    "a convolution of inputs {} with weights {:?} (2-D ones, (N, C, H, W), are supported)",
                    rill_nn::batch_shape(&s),
                    w.shape()
                ),
            ));
        }
        let ws = w.shape().to_vec();
        let kernel_shape = window_pair(node, "kernel_shape", [ws[2], ws[3]])?;
        if kernel_shape != [ws[2], ws[3]] {
            return Err(onnx_unsupported(
                node,
                format!("kernel_shape {kernel_shape:?} that disagrees with weights {ws:?}"),
            ));
        }
        let strides = window_pair(node, "strides", [1, 1])?;
        let dilations = window_pair(node, "dilations", [1, 1])?;
        let group = node.int("group", 1)?;
        if group < 1 || s[0] as i64 % group != 0 || ws[1] as i64 * group != s[0] as i64 {
            return Err(onnx_unsupported(
                node,
                format!(
                    "group {group} with weights {ws:?} for {} input channels",
                    s[0]
                ),
            ));
        }
        let pads = window_pads(node, &s, kernel_shape, strides, dilations)?;
        let bias = node.constant(2)?;
        let config = ConvConfig {
            filters: ws[0],
            kernel_shape,
            strides,
            pads,
            dilations,
            group: group as usize,
            use_bias: bias.is_some(),
        };
        let weights = std::iter::once(w).chain(bias).collect();
        Ok(Some(OnnxImport::new(config).weights(weights)))
    }
    fn to_onnx(c: &ConvConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let mut inputs = vec![l.input.clone(), g.weight(&l.part("kernel"), l.weight(0)?)?];
        if let Some(b) = l.weights.get(1) {
            inputs.push(g.weight(&l.part("bias"), b)?);
        }
        let attrs = vec![
            Ints("kernel_shape", sizes(&c.kernel_shape)),
            Ints("strides", sizes(&c.strides)),
            Ints("pads", sizes(&c.pads)),
            Ints("dilations", sizes(&c.dilations)),
            Int("group", c.group as i64),
        ];
        Ok(g.node("Conv", inputs, l.name, attrs))
    }
}
