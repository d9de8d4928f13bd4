use crate::backend::cpu::{arg_reduce_last, reduce_axes, ReduceKind};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::layout::{normalize_axes, normalize_axis};
use crate::tensor::Tensor;

/// The shape after reducing `axes` (sorted, normalised) of `shape`.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

impl Tensor {
    fn reduce(
        &self,
        kind: ReduceKind,
        op: &'static str,
        axes: &[isize],
        keepdims: bool,
    ) -> Result<Tensor> {
        let axes = normalize_axes(op, axes, self.rank())?;
        if kind != ReduceKind::Sum && axes.iter().any(|&a| self.shape()[a] == 0) {
            return Err(Error::shape(
                op,
                "cannot take the max or min over an empty axis",
            ));
        }
        let out_shape = reduced_shape(self.shape(), &axes, keepdims);
        let storage = crate::dispatch_float!(self.dtype(), op, T => {
            Ok(T::into_storage(reduce_axes(kind, &self.data::<T>()?, self.shape(), &axes)))
        })?;
        let kept_shape = reduced_shape(self.shape(), &axes, true);
        Ok(Tensor::record(
            storage,
            &out_shape,
            &[self],
            op,
            move |ctx| {
                let x = &ctx.inputs[0];
                let g = ctx.grad.reshape(&kept_shape)?.broadcast_to(x.shape())?;
                Ok(vec![Some(match kind {
                    ReduceKind::Sum => g.contiguous(),
                    ReduceKind::Max | ReduceKind::Min => {
                        // Ties share the gradient equally, as in TensorFlow.
                        let y = ctx.output.reshape(&kept_shape)?;
                        let mask = x.eq(&y)?.to_dtype(x.dtype())?;
                        let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
                        let count = mask.sum(&axes, true)?;
                        g.mul(&mask)?.div(&count)?
                    }
                })])
            },
        ))
    }

    /// The sum over `axes` (all axes when empty; negative axes count from the end).
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.sum(&[0], false)?.to_vec::<f32>()?, vec![4.0, 6.0]);
    /// assert_eq!(t.sum(&[], false)?.item::<f32>()?, 10.0);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn sum(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceKind::Sum, "sum", axes, keepdims)
    }
    /// The largest element over `axes`.
    pub fn max(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceKind::Max, "max", axes, keepdims)
    }
    /// The smallest element over `axes`.
    pub fn min(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceKind::Min, "min", axes, keepdims)
    }
    /// The mean over `axes`.
    pub fn mean(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let norm = normalize_axes("mean", axes, self.rank())?;
        let count: usize = norm.iter().map(|&a| self.shape()[a]).product();
        self.sum(axes, keepdims)?.div_scalar(count as f64)
    }
    /// The population variance over `axes` (NumPy's default, `ddof=0`).
    pub fn variance(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let centred = self.sub(&self.mean(axes, true)?)?;
        centred.square()?.mean(axes, keepdims)
    }
    /// ln Σ eˣ over `axes`, computed without overflow for large x.
    pub fn logsumexp(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        // The shift is a constant for the gradient; an all −∞ slice shifts by 0 instead of NaN.
        let m = self.max(axes, true)?.detach();
        let finite = m.abs()?.lt(&Tensor::scalar_of(f64::INFINITY, m.dtype()))?;
        let m = m.where_cond_of(&finite, &m.zeros_like())?;
        let lse = self.sub(&m)?.exp()?.sum(axes, true)?.log()?.add(&m)?;
        if keepdims {
            Ok(lse)
        } else {
            let axes = normalize_axes("logsumexp", axes, self.rank())?;
            lse.reshape(&reduced_shape(self.shape(), &axes, false))
        }
    }
    fn arg_reduce(
        &self,
        op: &'static str,
        axis: isize,
        keepdims: bool,
        largest: bool,
    ) -> Result<Tensor> {
        let axis = normalize_axis(op, axis, self.rank())?;
        let width = self.shape()[axis];
        if width == 0 {
            return Err(Error::shape(
                op,
                "cannot take the argmax or argmin over an empty axis",
            ));
        }
        let mut perm: Vec<usize> = (0..self.rank()).filter(|&d| d != axis).collect();
        perm.push(axis);
        let moved = self.permute(&perm)?.contiguous();
        let idx = crate::dispatch_any!(self.dtype(), T => arg_reduce_last(&moved.data::<T>()?, width, largest),
            string => return Err(crate::strings::not_for_strings(op)));
        Tensor::from_vec(idx, &reduced_shape(self.shape(), &[axis], keepdims))
    }
    /// The index (i64) of the largest element along `axis`; the first wins ties.
    pub fn argmax(&self, axis: isize, keepdims: bool) -> Result<Tensor> {
        self.arg_reduce("argmax", axis, keepdims, true)
    }
    /// The index (i64) of the smallest element along `axis`; the first wins ties.
    pub fn argmin(&self, axis: isize, keepdims: bool) -> Result<Tensor> {
        self.arg_reduce("argmin", axis, keepdims, false)
    }
}
