use super::sum_to_shape;
use crate::backend::cpu::map2_broadcast;
use crate::dtype::{Element, FloatElement};
use crate::error::{Error, Result};
use crate::layout::broadcast_shapes;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
}

impl BinaryOp {
    fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
        }
    }

    fn forward<T: FloatElement>(
        self,
        a: &[T],
        la: &crate::Layout,
        b: &[T],
        lb: &crate::Layout,
    ) -> Vec<T> {
        match self {
            BinaryOp::Add => map2_broadcast(a, la, b, lb, |x, y| x + y),
            BinaryOp::Sub => map2_broadcast(a, la, b, lb, |x, y| x - y),
            BinaryOp::Mul => map2_broadcast(a, la, b, lb, |x, y| x * y),
            BinaryOp::Div => map2_broadcast(a, la, b, lb, |x, y| x / y),
            BinaryOp::Pow => map2_broadcast(a, la, b, lb, |x, y| x.powf(y)),
            BinaryOp::Maximum => {
                map2_broadcast(
                    a,
                    la,
                    b,
                    lb,
                    |x, y| if x >= y || x.is_nan() { x } else { y },
                )
            }
            BinaryOp::Minimum => {
                map2_broadcast(
                    a,
                    la,
                    b,
                    lb,
                    |x, y| if x <= y || x.is_nan() { x } else { y },
                )
            }
        }
    }

    /// The gradients of both inputs, before summing away broadcast dimensions.
    fn backward(
        self,
        a: &Tensor,
        b: &Tensor,
        out: &Tensor,
        g: &Tensor,
        needs: &[bool],
    ) -> Result<[Option<Tensor>; 2]> {
        let when = |i: usize, f: &dyn Fn() -> Result<Tensor>| -> Result<Option<Tensor>> {
            if needs[i] {
                f().map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(match self {
            BinaryOp::Add => [when(0, &|| Ok(g.clone()))?, when(1, &|| Ok(g.clone()))?],
            BinaryOp::Sub => [when(0, &|| Ok(g.clone()))?, when(1, &|| g.neg())?],
            BinaryOp::Mul => [when(0, &|| g.mul(b))?, when(1, &|| g.mul(a))?],
            BinaryOp::Div => [
                when(0, &|| g.div(b))?,
                when(1, &|| g.mul(out)?.div(b)?.neg())?,
            ],
            BinaryOp::Pow => [
                when(0, &|| g.mul(b)?.mul(&a.pow(&b.sub_scalar(1.0)?)?))?,
                when(1, &|| {
                    // d/db a^b = a^b ln a; TensorFlow takes ln a as 0 where a ≤ 0.
                    let positive = a.gt(&a.zeros_like())?;
                    let safe = a.where_cond_of(&positive, &a.ones_like())?;
                    g.mul(out)?
                        .mul(&safe.log()?.where_cond_of(&positive, &a.zeros_like())?)
                })?,
            ],
            BinaryOp::Maximum | BinaryOp::Minimum => {
                let first = if self == BinaryOp::Maximum {
                    a.ge(b)?
                } else {
                    a.le(b)?
                };
                let zero = g.zeros_like();
                [
                    when(0, &|| g.where_cond_of(&first, &zero))?,
                    when(1, &|| zero.where_cond_of(&first, g))?,
                ]
            }
        })
    }
}

impl Tensor {
    fn binary(&self, other: &Tensor, op: BinaryOp) -> Result<Tensor> {
        if self.dtype() != other.dtype() {
            return Err(Error::dtype(
                op.name(),
                format!(
                    "operands must have the same dtype, found {} and {}",
                    self.dtype(),
                    other.dtype()
                ),
            ));
        }
        let shape = broadcast_shapes(op.name(), self.shape(), other.shape())?;
        let la = self.layout().broadcast_to(op.name(), &shape)?;
        let lb = other.layout().broadcast_to(op.name(), &shape)?;
        let storage = crate::dispatch_float!(self.dtype(), op.name(), T => {
            let a = T::slice(self.storage()).expect("dtype checked");
            let b = T::slice(other.storage()).expect("dtype checked");
            Ok(T::into_storage(op.forward(a, &la, b, &lb)))
        })?;
        Ok(Tensor::record(
            storage,
            &shape,
            &[self, other],
            op.name(),
            move |ctx| {
                let (a, b) = (&ctx.inputs[0], &ctx.inputs[1]);
                let [ga, gb] = op.backward(a, b, ctx.output, ctx.grad, ctx.needs)?;
                Ok(vec![
                    ga.map(|g| sum_to_shape(&g, a.shape())).transpose()?,
                    gb.map(|g| sum_to_shape(&g, b.shape())).transpose()?,
                ])
            },
        ))
    }
    /// a + b, broadcasting as NumPy does.
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Add)
    }
    /// a − b, broadcasting.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Sub)
    }
    /// a · b elementwise, broadcasting.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Mul)
    }
    /// a / b elementwise, broadcasting.
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Div)
    }
    /// aᵇ elementwise, broadcasting.
    pub fn pow(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Pow)
    }
    /// The larger of a and b elementwise (ties send the gradient to a).
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Maximum)
    }
    /// The smaller of a and b elementwise (ties send the gradient to a).
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, BinaryOp::Minimum)
    }
    /// a + s for a scalar s.
    pub fn add_scalar(&self, s: f64) -> Result<Tensor> {
        self.add(&Tensor::scalar_of(s, self.dtype()))
    }
    /// a − s for a scalar s.
    pub fn sub_scalar(&self, s: f64) -> Result<Tensor> {
        self.sub(&Tensor::scalar_of(s, self.dtype()))
    }
    /// a · s for a scalar s.
    pub fn mul_scalar(&self, s: f64) -> Result<Tensor> {
        self.mul(&Tensor::scalar_of(s, self.dtype()))
    }
    /// a / s for a scalar s.
    pub fn div_scalar(&self, s: f64) -> Result<Tensor> {
        self.div(&Tensor::scalar_of(s, self.dtype()))
    }
    /// aˢ for a scalar s.
    pub fn pow_scalar(&self, s: f64) -> Result<Tensor> {
        self.pow(&Tensor::scalar_of(s, self.dtype()))
    }
}
