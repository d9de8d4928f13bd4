//! ONNX `MaxPool` and `AveragePool` (2-D, NCHW, explicit pads).

use super::*;

/// [`OnnxPool`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolConfig {
    /// `max` or `average`.
    pub mode: String,
    /// Window height and width.
    pub kernel_shape: [usize; 2],
    /// Steps.
    pub strides: [usize; 2],
    /// Padding, `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Average pooling: whether padded positions count in each average.
    pub count_include_pad: bool,
}

/// ONNX `MaxPool` and `AveragePool` in two dimensions over NCHW batches.
#[derive(Debug)]
pub struct OnnxPool(PoolConfig);

impl OnnxPool {
    /// Average pooling that leaves pads out, with pads other than TensorFlow's `same` split,
    /// has no Rill kernel.
    fn excluded_pads_are_same(&self, s: &[usize]) -> bool {
        let c = &self.0;
        (0..2).all(|a| {
            let (before, after) =
                rill_core::same_padding(s[a + 1], c.kernel_shape[a], c.strides[a], 1);
            (c.pads[a], c.pads[a + 2]) == (before, after)
        })
    }
}

impl Configurable for OnnxPool {
    const KIND: &'static str = "OnnxPool";
    type Config = PoolConfig;
    fn get_config(&self) -> PoolConfig {
        self.0.clone()
    }
    fn from_config(c: PoolConfig) -> Result<Self> {
        if c.mode != "max" && c.mode != "average" {
            return Err(config_error(
                Self::KIND,
                format!("mode must be 'max' or 'average', found '{}'", c.mode),
            ));
        }
        rill_nn::layers::check_sizes(Self::KIND, "kernel_shape", &c.kernel_shape)?;
        rill_nn::layers::check_sizes(Self::KIND, "strides", &c.strides)?;
        Ok(OnnxPool(c))
    }
    fn examples() -> Vec<LayerExample<PoolConfig>> {
        let pool = |mode: &str, pads, count_include_pad| PoolConfig {
            mode: mode.into(),
            kernel_shape: [3, 3],
            strides: [2, 2],
            pads,
            count_include_pad,
        };
        vec![
            LayerExample::new(pool("max", [1, 1, 1, 1], false), &[2, 7, 7]),
            LayerExample::new(pool("average", [1, 1, 1, 1], true), &[2, 7, 7]),
            LayerExample::new(pool("average", [0, 0, 1, 1], false), &[2, 6, 6]),
        ]
    }
}

impl Layer for OnnxPool {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        let c = &self.0;
        if s.len() != 3 {
            return Err(config_error(
                Self::KIND,
                format!(
                    "expects (channels, height, width) inputs, found {}",
                    full(s)
                ),
            ));
        }
        let padded = c.pads.iter().any(|&p| p > 0);
        if c.mode == "average" && padded && !c.count_include_pad && !self.excluded_pads_are_same(s)
        {
            return Err(config_error(
                Self::KIND,
                format!("average pooling that leaves out pads {:?} is supported only for TensorFlow's 'same' padding", c.pads),
            ));
        }
        let (oh, ow) = window_hw(Self::KIND, s, &c.pads, c.kernel_shape, c.strides, [1, 1])?;
        bounded(
            Self::KIND,
            "a window matrix",
            &[s[0], oh, ow, c.kernel_shape[0], c.kernel_shape[1]],
        )?;
        Ok(vec![s[0], oh, ow])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let c = &self.0;
        let pool = (c.kernel_shape[0], c.kernel_shape[1]);
        let strides = (c.strides[0], c.strides[1]);
        let x = nhwc(x)?;
        let y = if c.mode == "max" {
            // Pads never win a max: pad with −∞.
            pad_hw(&x, &c.pads, f64::NEG_INFINITY)?.max_pool2d(pool, strides, Padding::Valid)?
        } else if c.count_include_pad || c.pads.iter().all(|&p| p == 0) {
            pad_hw(&x, &c.pads, 0.0)?.avg_pool2d(pool, strides, Padding::Valid)?
        } else {
            x.avg_pool2d(pool, strides, Padding::Same)?
        };
        nchw(&y)
    }
}

/// ONNX: the `MaxPool` or `AveragePool` it was imported from, in the file's own layout.
impl OnnxForm for OnnxPool {
    const ONNX_OPS: &'static [&'static str] = &["MaxPool", "AveragePool"];
    /// ONNX `MaxPool` and `AveragePool` in two dimensions (1-D ones arrive lifted).
    fn from_onnx(node: &dyn OnnxNode) -> Result<Option<OnnxImport<PoolConfig>>> {
        if node.outputs_used() > 1 {
            return Err(onnx_unsupported(node, "reading the indices output"));
        }
        let s = onnx_computed(node, 0)?;
        if s.len() != 3 {
            return Err(onnx_unsupported(
                node,
                format!(
                    "pooling of inputs {} (2-D, (N, C, H, W), is supported)",
                    rill_nn::batch_shape(&s)
                ),
            ));
        }
        let kernel = window_pair(node, "kernel_shape", [0, 0])?;
        if kernel == [0, 0] {
            return Err(onnx_unsupported(node, "a pooling without kernel_shape"));
        }
        let strides = window_pair(node, "strides", [1, 1])?;
        if window_pair(node, "dilations", [1, 1])? != [1, 1] {
            return Err(onnx_unsupported(node, "pooling with dilations"));
        }
        if node.int("storage_order", 0)? != 0 {
            return Err(onnx_unsupported(node, "storage_order=1"));
        }
        let pads = window_pads(node, &s, kernel, strides, [1, 1])?;
        if node.int("ceil_mode", 0)? != 0 {
            // Rounding up matters only when a window would start inside the padding's end.
            for ax in 0..2 {
                let span = s[ax + 1] + pads[ax] + pads[ax + 2];
                if span >= kernel[ax] && (span - kernel[ax]) % strides[ax] != 0 {
                    return Err(onnx_unsupported(
                        node,
                        "ceil_mode=1 where it changes the output size",
                    ));
                }
            }
        }
        let config = PoolConfig {
            mode: if node.op() == "MaxPool" {
                "max"
            } else {
                "average"
            }
            .into(),
            kernel_shape: kernel,
            strides,
            pads,
            count_include_pad: node.int("count_include_pad", 0)? != 0,
        };
        Ok(Some(OnnxImport::new(config)))
    }
    fn to_onnx(c: &PoolConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let mut attrs = vec![
            Ints("kernel_shape", sizes(&c.kernel_shape)),
            Ints("strides", sizes(&c.strides)),
            Ints("pads", sizes(&c.pads)),
        ];
        let op = if c.mode == "max" {
            "MaxPool"
        } else {
            attrs.push(Int("count_include_pad", i64::from(c.count_include_pad)));
            "AveragePool"
        };
        Ok(g.node(op, vec![l.input.clone()], l.name, attrs))
    }
}
