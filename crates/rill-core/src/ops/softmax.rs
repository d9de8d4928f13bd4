use crate::dtype::{Element, FloatElement};
use crate::error::Result;
use crate::layout::normalize_axis;
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Rows per rayon task; small batches stay on one thread.
const ROWS_PER_TASK: usize = 256;

fn rows_forward<T: FloatElement>(x: &[T], width: usize, log: bool) -> Vec<T> {
    let mut out = x.to_vec();
    let run = |row: &mut [T]| {
        let m = row.iter().copied().fold(T::neg_infinity(), T::max);
        let m = if m.is_finite() { m } else { T::zero() };
        if log {
            // (x − m) − ln Σ, not x − (m + ln Σ): adding m back first loses the low bits.
            let log_sum = row.iter().map(|&v| (v - m).exp()).sum::<T>().ln();
            row.iter_mut().for_each(|v| *v = (*v - m) - log_sum);
        } else {
            row.iter_mut().for_each(|v| *v = (*v - m).exp());
            let inv = T::one() / row.iter().copied().sum::<T>();
            row.iter_mut().for_each(|v| *v *= inv);
        }
    };
    match x.len().checked_div(width) {
        Some(rows) if rows > ROWS_PER_TASK => out
            .par_chunks_mut(width)
            .with_min_len(ROWS_PER_TASK)
            .for_each(run),
        Some(_) => out.chunks_mut(width).for_each(run),
        None => {}
    }
    out
}

fn rows_backward<T: FloatElement>(y: &[T], g: &[T], width: usize, log: bool) -> Vec<T> {
    let mut dx = vec![T::zero(); y.len()];
    if width == 0 {
        return dx;
    }
    for ((d, y), g) in dx
        .chunks_mut(width)
        .zip(y.chunks(width))
        .zip(g.chunks(width))
    {
        if log {
            // d/dx log_softmax: g − softmax · Σg
            let s: T = g.iter().copied().sum();
            for ((d, &y), &g) in d.iter_mut().zip(y).zip(g) {
                *d = g - y.exp() * s;
            }
        } else {
            // d/dx softmax: y · (g − Σ g·y)
            let s: T = y.iter().zip(g).map(|(&y, &g)| y * g).sum();
            for ((d, &y), &g) in d.iter_mut().zip(y).zip(g) {
                *d = y * (g - s);
            }
        }
    }
    dx
}

impl Tensor {
    fn softmax_impl(&self, axis: isize, log: bool) -> Result<Tensor> {
        let op = if log { "log_softmax" } else { "softmax" };
        let a = normalize_axis(op, axis, self.rank())?;
        if a != self.rank() - 1 {
            let last = self.rank() as isize - 1;
            return self
                .transpose(a as isize, last)?
                .softmax_impl(last, log)?
                .transpose(a as isize, last);
        }
        let width = self.shape()[a];
        let storage = crate::dispatch_float!(self.dtype(), op, T => Ok(T::into_storage(rows_forward(&self.data::<T>()?, width, log))))?;
        Ok(Tensor::record(
            storage,
            self.shape(),
            &[self],
            op,
            move |ctx| {
                let (y, g) = (ctx.output, ctx.grad);
                let storage = crate::dispatch_float!(y.dtype(), op, T => Ok(T::into_storage(rows_backward(&y.data::<T>()?, &g.data::<T>()?, width, log))))?;
                Ok(vec![Some(Tensor::from_parts(storage, y.shape()))])
            },
        ))
    }
    /// eˣ / Σ eˣ along `axis`, shifted by the maximum so large logits do not overflow.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_impl(axis, false)
    }
    /// x − logsumexp(x) along `axis`, stable for large logits.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_impl(axis, true)
    }
}
