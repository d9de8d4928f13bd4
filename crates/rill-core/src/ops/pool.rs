use super::conv::geometry;
use crate::backend::cpu::{
    avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward,
};
use crate::dtype::Element;
use crate::error::Result;
use crate::ops::{Conv2dOptions, Padding};
use crate::tensor::Tensor;

impl Tensor {
    /// Max pooling over an NHWC batch with a `pool` window, `strides` and `padding`.
    pub fn max_pool2d(
        &self,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Tensor> {
        const OP: &str = "max_pool2d";
        let g = geometry(
            OP,
            self.shape(),
            pool.0,
            pool.1,
            &Conv2dOptions {
                strides,
                padding,
                dilation: (1, 1),
            },
        )?;
        let storage = crate::dispatch_float!(self.dtype(), OP, T => {
            Ok(T::into_storage(max_pool_forward(&self.data::<T>()?, &g)))
        })?;
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record(
            storage,
            &[g.n, g.oh, g.ow, g.c],
            &[self],
            OP,
            move |ctx| {
                let (gr, x, out) = (ctx.grad, &ctx.inputs[0], ctx.output);
                let storage = crate::dispatch_float!(gr.dtype(), OP, T => Ok(T::into_storage(
                    max_pool_backward(&gr.data::<T>()?, &x.data::<T>()?, &out.data::<T>()?, &g)
                )))?;
                Ok(vec![Some(Tensor::from_parts(storage, &in_shape))])
            },
        ))
    }

    /// Average pooling over an NHWC batch; padded positions are left out of each average.
    pub fn avg_pool2d(
        &self,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Tensor> {
        const OP: &str = "avg_pool2d";
        let g = geometry(
            OP,
            self.shape(),
            pool.0,
            pool.1,
            &Conv2dOptions {
                strides,
                padding,
                dilation: (1, 1),
            },
        )?;
        let storage = crate::dispatch_float!(self.dtype(), OP, T => Ok(T::into_storage(avg_pool_forward(&self.data::<T>()?, &g))))?;
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record(
            storage,
            &[g.n, g.oh, g.ow, g.c],
            &[self],
            OP,
            move |ctx| {
                let gr = ctx.grad;
                let storage = crate::dispatch_float!(gr.dtype(), OP, T => Ok(T::into_storage(avg_pool_backward(&gr.data::<T>()?, &g))))?;
                Ok(vec![Some(Tensor::from_parts(storage, &in_shape))])
            },
        ))
    }
}
