use super::sum_to_shape;
use crate::backend::cpu::map2_broadcast;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result, ShapeDisplay};
use crate::layout::broadcast_shapes;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy)]
enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Tensor {
    // The same generic comparison serves every dtype; for bool, `x < y` is the intended order
    // (false < true), so clippy's rewrite to `!x & y` would only obscure it.
    #[allow(clippy::bool_comparison)]
    fn compare(&self, other: &Tensor, cmp: Comparison, op: &'static str) -> Result<Tensor> {
        if self.dtype() != other.dtype() {
            return Err(Error::dtype(
                op,
                format!(
                    "operands must have the same dtype, found {} and {}",
                    self.dtype(),
                    other.dtype()
                ),
            ));
        }
        let shape = broadcast_shapes(op, self.shape(), other.shape())?;
        let la = self.layout().broadcast_to(op, &shape)?;
        let lb = other.layout().broadcast_to(op, &shape)?;
        let out = crate::dispatch_any!(self.dtype(), T => {
            let a = T::slice(self.storage()).expect("dtype checked");
            let b = T::slice(other.storage()).expect("dtype checked");
            match cmp {
                Comparison::Eq => map2_broadcast(a, &la, b, &lb, |x, y| x == y),
                Comparison::Ne => map2_broadcast(a, &la, b, &lb, |x, y| x != y),
                Comparison::Lt => map2_broadcast(a, &la, b, &lb, |x, y| x < y),
                Comparison::Le => map2_broadcast(a, &la, b, &lb, |x, y| x <= y),
                Comparison::Gt => map2_broadcast(a, &la, b, &lb, |x, y| x > y),
                Comparison::Ge => map2_broadcast(a, &la, b, &lb, |x, y| x >= y),
            }
        }, string => {
            // Text compares as Rust's `str` does (by bytes), each pair through the layouts.
            let (a, b) = (self.string_storage(op)?, other.string_storage(op)?);
            la.indices().zip(lb.indices()).map(|(i, j)| {
                let (x, y) = (&a[i], &b[j]);
                match cmp {
                    Comparison::Eq => x == y,
                    Comparison::Ne => x != y,
                    Comparison::Lt => x < y,
                    Comparison::Le => x <= y,
                    Comparison::Gt => x > y,
                    Comparison::Ge => x >= y,
                }
            }).collect()
        });
        Ok(Tensor::from_parts(crate::Storage::Bool(out), &shape))
    }
    /// a == b elementwise, as a bool tensor.
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Comparison::Eq, "eq")
    }
    /// a != b elementwise, as a bool tensor.
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Comparison::Ne, "ne")
    }
    /// a < b elementwise, as a bool tensor.
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Comparison::Lt, "lt")
    }
    /// a <= b elementwise, as a bool tensor.
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Comparison::Le, "le")
    }
    /// a > b elementwise, as a bool tensor.
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Comparison::Gt, "gt")
    }
    /// a >= b elementwise, as a bool tensor.
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Comparison::Ge, "ge")
    }

    /// `where(cond, a, b)`: a where `cond` (bool) holds, b elsewhere; all three broadcast.
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let c = Tensor::from_vec(vec![true, false], &[2])?;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let b = Tensor::from_vec(vec![9.0f32], &[1])?;
    /// assert_eq!(Tensor::where_cond(&c, &a, &b)?.to_vec::<f32>()?, vec![1.0, 9.0]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        const OP: &str = "where";
        if cond.dtype() != DType::Bool {
            return Err(Error::dtype(
                OP,
                format!("the condition must be bool, found {}", cond.dtype()),
            ));
        }
        if a.dtype() != b.dtype() {
            return Err(Error::dtype(
                OP,
                format!(
                    "both branches must have the same dtype, found {} and {}",
                    a.dtype(),
                    b.dtype()
                ),
            ));
        }
        let shape = broadcast_shapes(
            OP,
            &broadcast_shapes(OP, cond.shape(), a.shape())?,
            b.shape(),
        )
        .map_err(|_| {
            Error::shape(
                OP,
                format!(
                    "shapes cannot be broadcast together: {}, {} and {}",
                    ShapeDisplay(cond.shape()),
                    ShapeDisplay(a.shape()),
                    ShapeDisplay(b.shape())
                ),
            )
        })?;
        let c = cond.broadcast_to(&shape)?.contiguous().to_vec::<bool>()?;
        let storage = crate::dispatch_any!(a.dtype(), T => {
            let av = a.broadcast_to(&shape)?.contiguous().to_vec::<T>()?;
            let bv = b.broadcast_to(&shape)?.contiguous().to_vec::<T>()?;
            T::into_storage(c.iter().zip(av).zip(bv).map(|((&c, x), y)| if c { x } else { y }).collect())
        }, string => return Err(crate::strings::not_for_strings(OP)));
        Ok(Tensor::record(storage, &shape, &[a, b, cond], OP, |ctx| {
            let (a, b, cond) = (&ctx.inputs[0], &ctx.inputs[1], &ctx.inputs[2]);
            let zero = ctx.grad.zeros_like();
            let ga = if ctx.needs[0] {
                Some(sum_to_shape(
                    &Tensor::where_cond(cond, ctx.grad, &zero)?,
                    a.shape(),
                )?)
            } else {
                None
            };
            let gb = if ctx.needs[1] {
                Some(sum_to_shape(
                    &Tensor::where_cond(cond, &zero, ctx.grad)?,
                    b.shape(),
                )?)
            } else {
                None
            };
            Ok(vec![ga, gb, None])
        }))
    }

    /// `self` where `cond` holds, `other` elsewhere (method form of [`Tensor::where_cond`]).
    pub fn where_cond_of(&self, cond: &Tensor, other: &Tensor) -> Result<Tensor> {
        Tensor::where_cond(cond, self, other)
    }
}
