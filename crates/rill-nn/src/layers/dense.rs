use super::kernel_bias::{KernelBias, KernelBiasConfig};
use super::serde_helpers::check_sizes;
use super::{Configurable, Layer, Regularizer};
use crate::{Activation, Error, Initializer, Result, Variable};
use rill_core::Tensor;
use serde::{Deserialize, Serialize};

/// [`Dense`]'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DenseConfig {
    /// Output features.
    pub units: usize,
    /// Activation, bias and initializers.
    #[serde(flatten)]
    pub kernel_bias: KernelBiasConfig,
}

/// A fully connected layer: `activation(x · kernel + bias)` over the last axis.
///
/// ```
/// use rill_nn::{layers::{Dense, Layer}, Activation};
/// let mut d = Dense::new(128).activation(Activation::Relu);
/// d.build(&[784])?;
/// assert_eq!(d.compute_output_shape(&[784])?, vec![128]);
/// assert_eq!(d.variables().iter().map(|v| v.numel()).sum::<usize>(), 784 * 128 + 128);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Dense {
    config: DenseConfig,
    weights: KernelBias,
}

impl Dense {
    /// A dense layer with `units` outputs, no activation, a bias, Glorot-uniform kernel.
    pub fn new(units: usize) -> Self {
        Dense {
            config: DenseConfig {
                units,
                kernel_bias: KernelBiasConfig::default(),
            },
            weights: KernelBias::default(),
        }
    }
    /// Sets the activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.kernel_bias.activation = a;
        self
    }
    /// Turns the bias on or off.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.config.kernel_bias.use_bias = on;
        self
    }
    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.config.kernel_bias.kernel_initializer = i;
        self
    }
    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, i: Initializer) -> Self {
        self.config.kernel_bias.bias_initializer = i;
        self
    }
    /// Adds a kernel penalty to the loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.config.kernel_bias.kernel_regularizer = Some(r);
        self
    }
}

impl Configurable for Dense {
    const KIND: &'static str = "Dense";
    type Config = DenseConfig;
    fn get_config(&self) -> DenseConfig {
        self.config.clone()
    }
    fn from_config(config: DenseConfig) -> Result<Self> {
        check_sizes(Self::KIND, "units", &[config.units])?;
        Ok(Dense {
            config,
            weights: KernelBias::default(),
        })
    }
    fn examples() -> Vec<super::LayerExample<DenseConfig>> {
        use super::LayerExample as E;
        vec![
            E::new(
                Dense::new(5).activation(Activation::Relu).get_config(),
                &[7],
            ),
            E::new(Dense::new(3).use_bias(false).get_config(), &[4, 6]),
            E::new(
                Dense::new(4).activation(Activation::Softmax).get_config(),
                &[3],
            ),
        ]
    }
}

impl Layer for Dense {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.is_empty() {
            return Err(Error::Config(format!("Dense needs inputs with at least one feature axis, found per-sample shape {input_shape:?}")));
        }
        check_sizes(Self::KIND, "units", &[self.config.units])?;
        let mut out = input_shape.to_vec();
        *out.last_mut().expect("non-empty") = self.config.units;
        Ok(out)
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.compute_output_shape(input_shape)?;
        let features = input_shape[input_shape.len() - 1];
        let (units, w) = (self.config.units, &self.config.kernel_bias);
        let kernel = w.kernel_initializer.init(&[features, units])?;
        let bias = w.use_bias.then_some((w.bias_initializer, units));
        self.weights.create(kernel, bias)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let y = x.matmul(&self.weights.kernel(Self::KIND)?)?;
        self.weights
            .bias_and_activation(y, &self.config.kernel_bias.activation)
    }
    fn output_mask(&self, _inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        // The steps stay where they are: their mask with them.
        super::pass_mask(masks)
    }
    fn variables(&self) -> Vec<Variable> {
        self.weights.variables()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.weights
            .regularization_loss(self.config.kernel_bias.kernel_regularizer)
    }
}

/// ONNX: `Gemm` on (batch, features) inputs, `MatMul` + `Add` above rank 2, then the activation;
/// read back from `Gemm` (with a constant B and C) and from `MatMul` by a constant matrix.
impl super::OnnxForm for Dense {
    const ONNX_OPS: &'static [&'static str] = &["Gemm", "MatMul"];
    fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<DenseConfig>>> {
        use super::{onnx_computed, onnx_constant, onnx_unsupported, OnnxImport};
        let s = onnx_computed(node, 0)?;
        if node.op() == "MatMul" && node.computed(1).is_some() {
            return Ok(None); // a product of two computed values is not a layer's weights
        }
        let b = onnx_constant(node, 1, "B")?;
        let dense =
            |units: usize, use_bias: bool| Dense::new(units).use_bias(use_bias).get_config();
        if node.op() == "MatMul" {
            if b.rank() != 2 || s.last() != Some(&b.shape()[0]) {
                return Err(onnx_unsupported(
                    node,
                    format!(
                        "a product of inputs {} with a constant of shape {:?} (only by a matrix whose rows match the last axis)",
                        crate::batch_shape(&s),
                        b.shape()
                    ),
                ));
            }
            let units = b.shape()[1];
            return Ok(Some(OnnxImport::new(dense(units, false)).weights(vec![b])));
        }
        if s.len() != 1 {
            return Err(onnx_unsupported(
                node,
                format!(
                    "inputs {} (Gemm takes (batch, features))",
                    crate::batch_shape(&s)
                ),
            ));
        }
        if node.int("transA", 0)? != 0 {
            return Err(onnx_unsupported(node, "transA=1 on a batch"));
        }
        if b.rank() != 2 {
            return Err(onnx_unsupported(
                node,
                format!("B of shape {:?}, not a matrix", b.shape()),
            ));
        }
        let mut kernel = b;
        if node.int("transB", 0)? != 0 {
            kernel = kernel.transpose(0, 1)?.contiguous();
        }
        let alpha = node.float("alpha", 1.0)?;
        if alpha != 1.0 {
            kernel = kernel.mul_scalar(alpha as f64)?;
        }
        let (k, n) = (kernel.shape()[0], kernel.shape()[1]);
        if k != s[0] {
            return Err(onnx_unsupported(
                node,
                format!("B of {k} rows for inputs of {} features", s[0]),
            ));
        }
        let mut weights = vec![kernel];
        let c = node.constant(2)?;
        if let Some(c) = &c {
            let beta = node.float("beta", 1.0)?;
            let values = c.to_vec::<f32>()?;
            let bias: Vec<f32> = match values[..] {
                [v] => vec![v * beta; n],
                _ if values.len() == n => values.iter().map(|v| v * beta).collect(),
                _ => {
                    return Err(onnx_unsupported(
                        node,
                        format!(
                            "C of shape {:?} (only a bias of {n} or one value)",
                            c.shape()
                        ),
                    ))
                }
            };
            weights.push(Tensor::from_vec(bias, &[n])?);
        }
        Ok(Some(
            OnnxImport::new(dense(n, c.is_some())).weights(weights),
        ))
    }
    fn to_onnx(
        c: &DenseConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        let kernel = g.weight(&l.part("kernel"), l.weight(0)?)?;
        let bias = match l.weights.get(1) {
            Some(b) => Some(g.weight(&l.part("bias"), b)?),
            None => None,
        };
        let activation = c.kernel_bias.activation.name();
        let base = match activation {
            "linear" => l.name.to_string(),
            _ => l.part("linear"),
        };
        let y = if l.input_shape.len() == 1 {
            let mut inputs = vec![l.input.clone(), kernel];
            inputs.extend(bias);
            g.node("Gemm", inputs, &base, vec![])
        } else {
            let y = g.node("MatMul", vec![l.input.clone(), kernel], &base, vec![]);
            match bias {
                Some(b) => g.node("Add", vec![y, b], &l.part("biased"), vec![]),
                None => y,
            }
        };
        g.activation(l.name, activation, y)
    }
}

/// Keras: `keras.layers.Dense` with the same arguments.
impl super::KerasForm for Dense {
    const KERAS_POSITIONAL: &'static [&'static str] = &["units"];
    fn to_keras(c: &DenseConfig) -> serde_json::Value {
        super::with_keras_kernel_bias(serde_json::json!({"units": c.units}), &c.kernel_bias)
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<DenseConfig> {
        Ok(DenseConfig {
            units: a.required("units")?,
            kernel_bias: a.kernel_bias()?,
        })
    }
}
