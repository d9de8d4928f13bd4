use crate::backend::cpu::{map, map3_same};
use crate::dtype::FloatElement;
use crate::error::Result;
use crate::tensor::Tensor;

/// An elementwise function of one float tensor. Its forward and its derivative are defined
/// together in `UnaryOp::forward` and `UnaryOp::backward`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    /// −x
    Neg,
    /// |x| (derivative 0 at 0, as TensorFlow)
    Abs,
    /// eˣ
    Exp,
    /// ln x
    Log,
    /// √x
    Sqrt,
    /// x²
    Square,
    /// max(x, 0)
    Relu,
    /// x if x > 0, else αx
    LeakyRelu(f64),
    /// x if x > 0, else α(eˣ − 1)
    Elu(f64),
    /// x·Φ(x), the exact GELU (Keras' default, `approximate=False`)
    Gelu,
    /// 1 / (1 + e⁻ˣ)
    Sigmoid,
    /// tanh x
    Tanh,
    /// ln(1 + eˣ), computed without overflow
    Softplus,
    /// x limited to [lo, hi]; the gradient passes where lo ≤ x ≤ hi
    Clip(f64, f64),
    /// The error function (ONNX's `Erf`, the core of exact GELU)
    Erf,
}

impl UnaryOp {
    /// The op's name in messages and graphs.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Square => "square",
            UnaryOp::Relu => "relu",
            UnaryOp::LeakyRelu(_) => "leaky_relu",
            UnaryOp::Elu(_) => "elu",
            UnaryOp::Gelu => "gelu",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Softplus => "softplus",
            UnaryOp::Clip(..) => "clip",
            UnaryOp::Erf => "erf",
        }
    }

    /// y = f(x) over a packed slice. The match sits outside the loops so each loop vectorises.
    fn forward<T: FloatElement>(self, x: &[T]) -> Vec<T> {
        let c = |v: f64| T::from_f64(v);
        let (zero, one, half) = (T::zero(), T::one(), c(0.5));
        match self {
            UnaryOp::Neg => map(x, |v| -v),
            UnaryOp::Abs => map(x, |v| v.abs()),
            UnaryOp::Exp => map(x, |v| v.exp()),
            UnaryOp::Log => map(x, |v| v.ln()),
            UnaryOp::Sqrt => map(x, |v| v.sqrt()),
            UnaryOp::Square => map(x, |v| v * v),
            UnaryOp::Relu => map(x, |v| if v > zero { v } else { zero }),
            UnaryOp::LeakyRelu(a) => {
                let a = c(a);
                map(x, |v| if v > zero { v } else { a * v })
            }
            UnaryOp::Elu(a) => {
                let a = c(a);
                map(x, |v| if v > zero { v } else { a * v.exp_m1() })
            }
            UnaryOp::Gelu => {
                let r = c(std::f64::consts::FRAC_1_SQRT_2);
                map(x, |v| half * v * (one + (v * r).erf()))
            }
            UnaryOp::Sigmoid => map(x, |v| sigmoid(v)),
            UnaryOp::Tanh => map(x, |v| v.tanh()),
            UnaryOp::Softplus => map(x, |v| v.max(zero) + (-v.abs()).exp().ln_1p()),
            UnaryOp::Clip(lo, hi) => {
                let (lo, hi) = (c(lo), c(hi));
                map(x, |v| v.max(lo).min(hi))
            }
            UnaryOp::Erf => map(x, |v| v.erf()),
        }
    }

    /// dL/dx = dL/dy · f'(x), given x, y = f(x) and dL/dy.
    fn backward<T: FloatElement>(self, x: &[T], y: &[T], g: &[T]) -> Vec<T> {
        let c = |v: f64| T::from_f64(v);
        let (zero, one, two, half) = (T::zero(), T::one(), c(2.0), c(0.5));
        match self {
            UnaryOp::Neg => map3_same(x, y, g, |_, _, g| -g),
            UnaryOp::Abs => map3_same(x, y, g, |x, _, g| {
                g * x.signum() * if x == zero { zero } else { one }
            }),
            UnaryOp::Exp => map3_same(x, y, g, |_, y, g| g * y),
            UnaryOp::Log => map3_same(x, y, g, |x, _, g| g / x),
            UnaryOp::Sqrt => map3_same(x, y, g, |_, y, g| g / (two * y)),
            UnaryOp::Square => map3_same(x, y, g, |x, _, g| g * two * x),
            UnaryOp::Relu => map3_same(x, y, g, |x, _, g| if x > zero { g } else { zero }),
            UnaryOp::LeakyRelu(a) => {
                let a = c(a);
                map3_same(x, y, g, |x, _, g| if x > zero { g } else { a * g })
            }
            UnaryOp::Elu(a) => {
                let a = c(a);
                map3_same(x, y, g, |x, y, g| if x > zero { g } else { g * (y + a) })
            }
            UnaryOp::Gelu => {
                let r = c(std::f64::consts::FRAC_1_SQRT_2);
                let inv_sqrt_2pi = c(0.398_942_280_401_432_7);
                map3_same(x, y, g, |x, _, g| {
                    let cdf = half * (one + (x * r).erf());
                    let pdf = inv_sqrt_2pi * (-half * x * x).exp();
                    g * (cdf + x * pdf)
                })
            }
            UnaryOp::Sigmoid => map3_same(x, y, g, |_, y, g| g * y * (one - y)),
            UnaryOp::Tanh => map3_same(x, y, g, |_, y, g| g * (one - y * y)),
            UnaryOp::Softplus => map3_same(x, y, g, |x, _, g| g * sigmoid(x)),
            UnaryOp::Clip(lo, hi) => {
                let (lo, hi) = (c(lo), c(hi));
                map3_same(x, y, g, |x, _, g| if x >= lo && x <= hi { g } else { zero })
            }
            UnaryOp::Erf => {
                // d/dx erf(x) = 2/√π · e^(−x²)
                let k = c(std::f64::consts::FRAC_2_SQRT_PI);
                map3_same(x, y, g, |x, _, g| g * k * (-x * x).exp())
            }
        }
    }
}

fn sigmoid<T: FloatElement>(v: T) -> T {
    // Two branches keep exp from overflowing for large |v|.
    if v >= T::zero() {
        T::one() / (T::one() + (-v).exp())
    } else {
        let e = v.exp();
        e / (T::one() + e)
    }
}

impl Tensor {
    /// Applies an elementwise [`UnaryOp`] to a float tensor.
    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        let storage = crate::dispatch_float!(self.dtype(), op.name(), T => {
            Ok(<T as crate::Element>::into_storage(op.forward(&self.data::<T>()?)))
        })?;
        Ok(Tensor::record(
            storage,
            self.shape(),
            &[self],
            op.name(),
            move |ctx| {
                let (x, y, g) = (&ctx.inputs[0], ctx.output, ctx.grad);
                let storage = crate::dispatch_float!(x.dtype(), op.name(), T => {
                    Ok(<T as crate::Element>::into_storage(op.backward(&x.data::<T>()?, &y.data::<T>()?, &g.data::<T>()?)))
                })?;
                Ok(vec![Some(Tensor::from_parts(storage, x.shape()))])
            },
        ))
    }
    /// −x, elementwise.
    pub fn neg(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Neg)
    }
    /// |x|, elementwise.
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Abs)
    }
    /// eˣ, elementwise.
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp)
    }
    /// Natural logarithm, elementwise.
    pub fn log(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Log)
    }
    /// Square root, elementwise.
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sqrt)
    }
    /// x², elementwise.
    pub fn square(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Square)
    }
    /// max(x, 0), elementwise.
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Relu)
    }
    /// x for x > 0, αx otherwise.
    pub fn leaky_relu(&self, alpha: f64) -> Result<Tensor> {
        self.unary(UnaryOp::LeakyRelu(alpha))
    }
    /// x for x > 0, α(eˣ − 1) otherwise.
    pub fn elu(&self, alpha: f64) -> Result<Tensor> {
        self.unary(UnaryOp::Elu(alpha))
    }
    /// The exact GELU, x·Φ(x).
    pub fn gelu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Gelu)
    }
    /// The logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid)
    }
    /// The hyperbolic tangent.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Tanh)
    }
    /// The error function erf(x), elementwise.
    pub fn erf(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Erf)
    }
    /// ln(1 + eˣ), stable for large |x|.
    pub fn softplus(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Softplus)
    }
    /// x limited to [lo, hi].
    pub fn clip(&self, lo: f64, hi: f64) -> Result<Tensor> {
        if lo > hi {
            return Err(crate::Error::invalid(
                "clip",
                format!("lower bound {lo} is above upper bound {hi}"),
            ));
        }
        self.unary(UnaryOp::Clip(lo, hi))
    }
}
