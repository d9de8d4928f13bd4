use super::conv::geometry;
use crate::backend::cpu::{
    conv_max_pool_forward, conv_max_pool_kernel_grad, direct_conv_pool_applies,
};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::ops::{Conv2dOptions, Padding};
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    /// `self.conv2d(kernel, conv)` max-pooled with a `pool` window, `strides` and `padding`: the
    /// same values and gradients, computed together when that is cheaper.
    ///
    /// That is the case for a layer with few input channels (a window of at most
    /// [`MAX_DIRECT_PATCH`](crate::backend::cpu::MAX_DIRECT_PATCH) values: an image network's
    /// first layer) pooled over 2×2 tiles, in f32, on a CPU with AVX2 and FMA, when no
    /// gradient is wanted for `self` (the network's input): the convolution's output then never
    /// goes to memory. The sums run in another order than the product's, so values may differ
    /// from the composed ops' in the last bits. Otherwise this is the two ops one after the
    /// other.
    pub fn conv2d_max_pool2d(
        &self,
        kernel: &Tensor,
        conv: &Conv2dOptions,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Tensor> {
        if let Some(pooled) = self.direct_conv_max_pool(kernel, conv, pool, strides, padding)? {
            return Ok(pooled);
        }
        self.conv2d(kernel, conv)?
            .max_pool2d(pool, strides, padding)
    }

    /// [`Tensor::conv2d_max_pool2d`]'s direct kernel, or `None` where it does not apply.
    fn direct_conv_max_pool(
        &self,
        kernel: &Tensor,
        conv: &Conv2dOptions,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Option<Tensor>> {
        const OP: &str = "conv2d_max_pool2d";
        let plain = self.dtype() == DType::F32
            && kernel.dtype() == DType::F32
            && self.rank() == 4
            && kernel.rank() == 4
            && kernel.shape()[2] == self.shape()[3]
            && !self.requires_grad()
            && pool == (2, 2)
            && strides == (2, 2);
        if !plain {
            return Ok(None);
        }
        let (kh, kw, co) = (kernel.shape()[0], kernel.shape()[1], kernel.shape()[3]);
        let g = geometry(OP, self.shape(), kh, kw, conv)?;
        // "same" pads a 2×2 pool with stride 2 only over an odd size; then it is not a tiling.
        let tiles = padding == Padding::Valid || (g.oh % 2 == 0 && g.ow % 2 == 0);
        if !tiles || co == 0 || !direct_conv_pool_applies(&g) {
            return Ok(None);
        }
        let (pooled, picks) =
            conv_max_pool_forward(&self.data::<f32>()?, &kernel.data::<f32>()?, &g, co);
        let picks = Arc::new(picks);
        let kernel_shape = kernel.shape().to_vec();
        let shape = [g.n, g.oh / 2, g.ow / 2, co];
        Ok(Some(Tensor::record(
            <f32 as Element>::into_storage(pooled),
            &shape,
            &[self, kernel],
            OP,
            move |ctx| {
                if ctx.needs[0] {
                    // Not reachable: the input did not require a gradient when recorded.
                    return Err(Error::invalid(OP, "no gradient for the input was recorded"));
                }
                if !ctx.needs[1] {
                    return Ok(vec![None, None]);
                }
                let (x, grad) = (&ctx.inputs[0], ctx.grad.to_dtype(DType::F32)?);
                let dk = conv_max_pool_kernel_grad(
                    &x.data::<f32>()?,
                    &grad.data::<f32>()?,
                    &picks,
                    &g,
                    co,
                );
                Ok(vec![None, Some(Tensor::from_vec(dk, &kernel_shape)?)])
            },
        )))
    }
}
