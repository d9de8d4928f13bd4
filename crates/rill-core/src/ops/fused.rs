use crate::backend::cpu::{bias_relu_backward, bias_relu_forward, bias_relu_in_place};
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
        let c = self.bias_channels(bias)?;
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

    /// [`Tensor::bias_relu`] taking the input: when no gradient will flow through the result
    /// (prediction, evaluation) and this is the only handle on its buffer, the values are
    /// replaced in place, so a large activation is never held twice (the CNN's first layer at
    /// batch 1,000: 100 MB). Otherwise it is `bias_relu` itself.
    ///
    /// ```
    /// use rill_core::{no_grad, Tensor};
    /// let x = Tensor::from_vec(vec![-1.0f32, 2.0, 0.5, -3.0], &[2, 2])?;
    /// let b = Tensor::from_vec(vec![0.5f32, -1.0], &[2])?;
    /// let at = x.data::<f32>()?.as_ptr();
    /// let y = no_grad(|| x.into_bias_relu(&b))?;
    /// assert_eq!(y.data::<f32>()?.as_ptr(), at); // the same buffer
    /// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 1.0, 1.0, 0.0]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn into_bias_relu(self, bias: &Tensor) -> Result<Tensor> {
        const OP: &str = "bias_relu";
        let tracked = Tensor::records_from(&[&self, bias]);
        if tracked {
            return self.bias_relu(bias);
        }
        let c = self.bias_channels(bias)?;
        let shape = self.shape().to_vec();
        let storage = crate::dispatch_float!(self.dtype(), OP, T => {
            let b = bias.data::<T>()?;
            let mut values = self.into_vec::<T>()?;
            bias_relu_in_place(&mut values, &b, c);
            Ok(<T as crate::Element>::into_storage(values))
        })?;
        crate::profile::forward_done(OP);
        Ok(Tensor::from_parts(storage, &shape))
    }

    /// The channel count `c` of `relu(self + bias)`: the last axis, which `bias` (shape `[c]`,
    /// same dtype) must match.
    fn bias_channels(&self, bias: &Tensor) -> Result<usize> {
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
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use crate::{no_grad, DType, Generator};

    #[test]
    fn in_place_bias_relu_matches_and_never_touches_a_shared_or_recorded_input() {
        let mut g = Generator::new(5);
        // Large enough to be split between threads; a transposed view is copied out first.
        let x = g.normal(&[300, 257], 0.0, 1.0, DType::F32).unwrap();
        let b = g.normal(&[257], 0.0, 1.0, DType::F32).unwrap();
        let want = x.bias_relu(&b).unwrap().to_vec::<f32>().unwrap();
        let before = x.to_vec::<f32>().unwrap();
        let shared = no_grad(|| x.clone().into_bias_relu(&b)).unwrap();
        assert_eq!(shared.to_vec::<f32>().unwrap(), want);
        assert_eq!(
            x.to_vec::<f32>().unwrap(),
            before,
            "a shared buffer was overwritten"
        );
        let xt = x.transpose(0, 1).unwrap();
        let bt = g.normal(&[300], 0.0, 1.0, DType::F32).unwrap();
        let want_t = xt.bias_relu(&bt).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(
            no_grad(|| xt.into_bias_relu(&bt))
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            want_t
        );
        // With gradients on, it is the recorded op: the bias gets its gradient.
        let bias = b.set_requires_grad(true).unwrap();
        let y = x.clone().into_bias_relu(&bias).unwrap();
        assert!(y.requires_grad());
        let grads = y.sum(&[], false).unwrap().backward().unwrap();
        assert!(grads.get(&bias).is_some());
        assert_eq!(x.to_vec::<f32>().unwrap(), before);
    }
}
