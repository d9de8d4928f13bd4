use crate::backend::cpu::{bias_relu_backward, bias_relu_forward};
use crate::error::{Error, Result, ShapeDisplay};
use crate::tensor::Tensor;

impl Tensor {
    /// `relu(self + bias)`, with `bias` (rank 1) added along the last axis — the end of a Dense or
    /// Conv2D layer with a ReLU — computed in one pass, and its gradient (input and bias) in
    /// one pass too. The same values as `self.add(bias)?.relu()`, at about half the memory
    /// traffic.
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 2.0, 0.5, -3.0], &[2, 2])?;
    /// let b = Tensor::from_vec(vec![0.5f32, -1.0], &[2])?;
    /// assert_eq!(x.bias_relu(&b)?.to_vec::<f32>()?, vec![0.0, 1.0, 1.0, 0.0]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn bias_relu(&self, bias: &Tensor) -> Result<Tensor> {
        const OP: &str = "bias_relu";
        let c = self.shape().last().copied().unwrap_or(0);
        if self.rank() == 0 || bias.shape() != [c] || c == 0 {
            return Err(Error::shape(
                OP,
                format!(
                    "expected a bias of shape [{c}] for an input of shape {} (last axis non-empty), found {}",
                    ShapeDisplay(self.shape()),
                    ShapeDisplay(bias.shape())
                ),
            ));
        }
        if self.dtype() != bias.dtype() {
            return Err(Error::dtype(
                OP,
                format!("input is {}, bias is {}", self.dtype(), bias.dtype()),
            ));
        }
        let storage = crate::dispatch_float!(self.dtype(), OP, T => {
            Ok(<T as crate::Element>::into_storage(bias_relu_forward(&self.data::<T>()?, &bias.data::<T>()?, c)))
        })?;
        Ok(Tensor::record(
            storage,
            self.shape(),
            &[self, bias],
            OP,
            move |ctx| {
                let (y, g) = (ctx.output, ctx.grad);
                let (dx, db) = crate::dispatch_float!(y.dtype(), OP, T => {
                    let (dx, db) = bias_relu_backward(&y.data::<T>()?, &g.data::<T>()?, c);
                    Ok((<T as crate::Element>::into_storage(dx), <T as crate::Element>::into_storage(db)))
                })?;
                Ok(vec![
                    ctx.needs[0].then(|| Tensor::from_parts(dx, y.shape())),
                    ctx.needs[1].then(|| Tensor::from_parts(db, &[c])),
                ])
            },
        ))
    }
}
