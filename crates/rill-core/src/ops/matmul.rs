use super::sum_to_shape;
use crate::backend::cpu::{gemm, gemm_new, MatRef};
use crate::dtype::Element;
use crate::error::{Error, Result, ShapeDisplay};
use crate::layout::{broadcast_shapes, Layout};
use crate::tensor::Tensor;
use num_traits::Zero;

impl Tensor {
    /// Matrix product of `[..., m, k]` and `[..., k, n]`; leading batch dimensions broadcast.
    /// Transposed views go straight to the kernel without a copy.
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let a = Tensor::ones(&[32, 784], rill_core::DType::F32);
    /// let b = Tensor::ones(&[785, 128], rill_core::DType::F32);
    /// let err = a.matmul(&b).unwrap_err();
    /// assert_eq!(err.to_string(), "matmul: inner dimensions differ: [32, 784] x [785, 128]");
    /// ```
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        const OP: &str = "matmul";
        let (a, b) = (self, other);
        if a.rank() < 2 || b.rank() < 2 {
            return Err(Error::shape(
                OP,
                format!(
                    "both operands need at least 2 dimensions, found {} x {}",
                    ShapeDisplay(a.shape()),
                    ShapeDisplay(b.shape())
                ),
            ));
        }
        if a.dtype() != b.dtype() {
            return Err(Error::dtype(
                OP,
                format!(
                    "operands must have the same dtype, found {} and {}",
                    a.dtype(),
                    b.dtype()
                ),
            ));
        }
        let (ra, rb) = (a.rank(), b.rank());
        let (m, k, k2, n) = (
            a.shape()[ra - 2],
            a.shape()[ra - 1],
            b.shape()[rb - 2],
            b.shape()[rb - 1],
        );
        if k != k2 {
            return Err(Error::shape(
                OP,
                format!(
                    "inner dimensions differ: {} x {}",
                    ShapeDisplay(a.shape()),
                    ShapeDisplay(b.shape())
                ),
            ));
        }
        if rb == 2 && ra > 2 && a.layout().is_contiguous() {
            // A batch of matrices by one matrix (a dense layer on sequences, the projections of
            // a recurrent layer or of attention) is one product of all their rows: one large
            // GEMM both cores share, and a kernel gradient summed by the product itself rather
            // than one per matrix summed afterwards.
            let rows: usize = a.shape()[..ra - 1].iter().product();
            let mut out_shape = a.shape()[..ra - 1].to_vec();
            out_shape.push(n);
            return a.reshape(&[rows, k])?.matmul(b)?.reshape(&out_shape);
        }
        let batch = broadcast_shapes(OP, &a.shape()[..ra - 2], &b.shape()[..rb - 2])?;
        let full = |mut s: Vec<usize>, r: usize, c: usize| {
            s.extend([r, c]);
            s
        };
        let la = a.layout().broadcast_to(OP, &full(batch.clone(), m, k))?;
        let lb = b.layout().broadcast_to(OP, &full(batch.clone(), k, n))?;
        let out_shape = full(batch.clone(), m, n);
        let batches: usize = batch.iter().product();
        let storage = crate::dispatch_float!(a.dtype(), OP, T => {
            let (ad, bd) = (T::slice(a.storage()).expect("dtype checked"), T::slice(b.storage()).expect("dtype checked"));
            let out = if batches == 1 {
                gemm_new(m, n, k, mat(ad, &la, &batch, 0), mat(bd, &lb, &batch, 0))
            } else {
                let mut out = vec![T::zero(); batches * m * n];
                if m * n > 0 {
                    for (i, o) in out.chunks_mut(m * n).enumerate() {
                        gemm(m, n, k, mat(ad, &la, &batch, i), mat(bd, &lb, &batch, i), o, false);
                    }
                }
                out
            };
            Ok(T::into_storage(out))
        })?;
        Ok(Tensor::record(storage, &out_shape, &[a, b], OP, |ctx| {
            let (a, b, g) = (&ctx.inputs[0], &ctx.inputs[1], ctx.grad);
            let ga = if ctx.needs[0] {
                Some(sum_to_shape(&g.matmul(&b.transpose(-2, -1)?)?, a.shape())?)
            } else {
                None
            };
            let gb = if ctx.needs[1] {
                Some(sum_to_shape(&a.transpose(-2, -1)?.matmul(g)?, b.shape())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }))
    }
}

/// The `i`-th matrix of a batch-broadcast layout `[batch..., rows, cols]`.
fn mat<'a, T>(data: &'a [T], l: &Layout, batch: &[usize], i: usize) -> MatRef<'a, T> {
    let r = l.shape().len();
    let mut offset = l.offset();
    let mut rest = i;
    for d in (0..batch.len()).rev() {
        offset += (rest % batch[d]) * l.strides()[d];
        rest /= batch[d];
    }
    MatRef {
        data,
        offset,
        row_stride: l.strides()[r - 2],
        col_stride: l.strides()[r - 1],
    }
}
