use super::conv::geometry;
use crate::backend::cpu::{
    avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward,
};
use crate::dtype::Element;
use crate::error::Result;
use crate::ops::{Conv2dOptions, Padding};
use crate::tensor::Tensor;
use std::sync::Arc;

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
        // The gradient remembers each maximum's position within its sample as a u32.
        if g.h * g.w * g.c > u32::MAX as usize {
            return Err(crate::error::Error::shape(
                OP,
                format!(
                    "one sample may hold at most {} values, found {}×{}×{}",
                    u32::MAX,
                    g.h,
                    g.w,
                    g.c
                ),
            ));
        }
        let mut arg = Vec::new();
        let storage = crate::dispatch_float!(self.dtype(), OP, T => {
            let (out, a) = max_pool_forward(&self.data::<T>()?, &g);
            arg = a;
            Ok(T::into_storage(out))
        })?;
        let arg = Arc::new(arg);
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record(
            storage,
            &[g.n, g.oh, g.ow, g.c],
            &[self],
            OP,
            move |ctx| {
                let gr = ctx.grad;
                let storage = crate::dispatch_float!(gr.dtype(), OP, T => Ok(T::into_storage(max_pool_backward(&gr.data::<T>()?, &arg, &g))))?;
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
