use crate::dtype::{DType, Element};
use crate::error::{Error, Result, ShapeDisplay};
use crate::layout::{normalize_axis, Layout};
use crate::tensor::Tensor;
use num_traits::Zero;

/// Reads an integer index tensor as i64 values.
fn index_values(op: &'static str, indices: &Tensor) -> Result<Vec<i64>> {
    match indices.dtype() {
        DType::I64 => indices.to_vec::<i64>(),
        DType::I32 => Ok(indices.data::<i32>()?.iter().map(|&v| v as i64).collect()),
        DType::U8 => Ok(indices.data::<u8>()?.iter().map(|&v| v as i64).collect()),
        other => Err(Error::dtype(
            op,
            format!("indices must be integers (i64, i32 or u8), found {other}"),
        )),
    }
}

/// Checks every index against `len`, allowing negative ones counted from the end.
fn resolve(op: &'static str, idx: &[i64], len: usize) -> Result<Vec<usize>> {
    idx.iter()
        .map(|&i| {
            let r = if i < 0 { i + len as i64 } else { i };
            if r < 0 || r >= len as i64 {
                Err(Error::invalid(
                    op,
                    format!("index {i} is out of range for a dimension of size {len}"),
                ))
            } else {
                Ok(r as usize)
            }
        })
        .collect()
}

impl Tensor {
    /// Elements `start..end` along `axis`. A view.
    pub fn slice(&self, axis: isize, start: usize, end: usize) -> Result<Tensor> {
        let a = normalize_axis("slice", axis, self.rank())?;
        let dim = self.shape()[a];
        if start > end || end > dim {
            return Err(Error::invalid(
                "slice",
                format!(
                    "range {start}..{end} does not fit dimension {a} of {}",
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        let l = self.layout();
        let mut shape = l.shape().to_vec();
        shape[a] = end - start;
        let layout = Layout::from_parts(
            shape,
            l.strides().to_vec(),
            l.offset() + start * l.strides()[a],
        );
        Ok(Tensor::record_view(
            self.storage().clone(),
            layout,
            &[self],
            "slice",
            move |ctx| {
                let mut pads = vec![(0, 0); ctx.grad.rank()];
                pads[a] = (start, dim - end);
                Ok(vec![Some(ctx.grad.pad(&pads, 0.0)?)])
            },
        ))
    }

    /// The slices at `indices` (a 1-D integer tensor) along `axis`, in that order (NumPy `take`).
    pub fn index_select(&self, axis: isize, indices: &Tensor) -> Result<Tensor> {
        const OP: &str = "index_select";
        if self.dtype() == crate::DType::Str {
            return self.strings_moved(|at| at.index_select(axis, indices));
        }
        let a = normalize_axis(OP, axis, self.rank())?;
        if indices.rank() != 1 {
            return Err(Error::shape(
                OP,
                format!(
                    "indices must be 1-D, found shape {}",
                    ShapeDisplay(indices.shape())
                ),
            ));
        }
        let dim = self.shape()[a];
        let idx = resolve(OP, &index_values(OP, indices)?, dim)?;
        let outer: usize = self.shape()[..a].iter().product();
        let inner: usize = self.shape()[a + 1..].iter().product();
        let mut shape = self.shape().to_vec();
        shape[a] = idx.len();
        let storage = crate::dispatch_any!(self.dtype(), T => {
            let out = if self.layout().is_contiguous() && outer == 1 {
                // Whole rows (a batch picked from a dataset): shared with the helper core.
                let starts: Vec<usize> = idx.iter().map(|&i| i * inner).collect();
                crate::backend::cpu::gather_rows(&self.data::<T>()?, &starts, inner)
            } else if self.layout().is_contiguous() {
                let x = self.data::<T>()?;
                let mut out = Vec::with_capacity(outer * idx.len() * inner);
                for o in 0..outer {
                    for &i in &idx {
                        let s = (o * dim + i) * inner;
                        out.extend_from_slice(&x[s..s + inner]);
                    }
                }
                out
            } else {
                select_strided::<T>(self, a, &idx, outer, inner)?
            };
            T::into_storage(out)
        }, string => return Err(crate::strings::not_for_strings(OP)));
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record(storage, &shape, &[self], OP, move |ctx| {
            let g = ctx.grad;
            let storage = crate::dispatch_float!(g.dtype(), OP, T => {
                let gd = g.data::<T>()?;
                let mut dx = vec![T::zero(); outer * dim * inner];
                for o in 0..outer {
                    for (j, &i) in idx.iter().enumerate() {
                        let d = (o * dim + i) * inner;
                        let s = (o * idx.len() + j) * inner;
                        for (dv, &gv) in dx[d..d + inner].iter_mut().zip(&gd[s..s + inner]) {
                            *dv += gv;
                        }
                    }
                }
                Ok(T::into_storage(dx))
            })?;
            Ok(vec![Some(Tensor::from_parts(storage, &in_shape))])
        }))
    }

    /// `out[..., j, ...] = self[..., indices[..., j, ...], ...]` along `axis`, where `indices`
    /// has this tensor's shape except along `axis` (PyTorch `gather`, NumPy `take_along_axis`).
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let logp = Tensor::from_vec(vec![0.1f32, 0.2, 0.3, 0.4], &[2, 2])?;
    /// let labels = Tensor::from_vec(vec![1i64, 0], &[2, 1])?;
    /// assert_eq!(logp.gather(1, &labels)?.to_vec::<f32>()?, vec![0.2, 0.3]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn gather(&self, axis: isize, indices: &Tensor) -> Result<Tensor> {
        const OP: &str = "gather";
        if self.dtype() == crate::DType::Str {
            return self.strings_moved(|at| at.gather(axis, indices));
        }
        let a = normalize_axis(OP, axis, self.rank())?;
        let same_elsewhere = indices.rank() == self.rank()
            && indices
                .shape()
                .iter()
                .zip(self.shape())
                .enumerate()
                .all(|(d, (i, s))| d == a || i == s);
        if !same_elsewhere {
            return Err(Error::shape(
                OP,
                format!(
                    "indices of shape {} do not match {} outside axis {a}",
                    ShapeDisplay(indices.shape()),
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        let dim = self.shape()[a];
        let idx = resolve(OP, &index_values(OP, indices)?, dim)?;
        let inner: usize = self.shape()[a + 1..].iter().product();
        let taken = indices.shape()[a];
        // Position p of the output reads source index src(p).
        let src = move |p: usize, idx: &[usize]| {
            let (o, rest) = (p / (taken * inner), p % (taken * inner));
            (o * dim + idx[p]) * inner + rest % inner
        };
        let storage = crate::dispatch_any!(self.dtype(), T => {
            let x = self.data::<T>()?;
            T::into_storage((0..idx.len()).map(|p| x[src(p, &idx)]).collect())
        }, string => return Err(crate::strings::not_for_strings(OP)));
        let in_shape = self.shape().to_vec();
        let numel = self.numel();
        Ok(Tensor::record(
            storage,
            indices.shape(),
            &[self],
            OP,
            move |ctx| {
                let g = ctx.grad;
                let storage = crate::dispatch_float!(g.dtype(), OP, T => {
                    let gd = g.data::<T>()?;
                    let mut dx = vec![T::zero(); numel];
                    for (p, &gv) in gd.iter().enumerate() {
                        dx[src(p, &idx)] += gv;
                    }
                    Ok(T::into_storage(dx))
                })?;
                Ok(vec![Some(Tensor::from_parts(storage, &in_shape))])
            },
        ))
    }

    /// One-hot encoding of an integer tensor: shape `[..., depth]`, f32, 1 at each index.
    pub fn one_hot(&self, depth: usize) -> Result<Tensor> {
        const OP: &str = "one_hot";
        let idx = resolve(OP, &index_values(OP, self)?, depth).map_err(|_| {
            Error::invalid(
                OP,
                format!("every index must lie in 0..{depth}, found one outside it"),
            )
        })?;
        let mut out = vec![0f32; idx.len() * depth];
        for (row, &i) in idx.iter().enumerate() {
            out[row * depth + i] = 1.0;
        }
        let mut shape = self.shape().to_vec();
        shape.push(depth);
        Tensor::from_vec(out, &shape)
    }
}

/// `index_select` on a view (a slice, a transpose): gathers only the selected blocks instead
/// of first copying the whole view, which made each batch picked from a sliced data set cost
/// a copy of the whole data set.
fn select_strided<T: Element>(
    x: &Tensor,
    axis: usize,
    idx: &[usize],
    outer: usize,
    inner: usize,
) -> Result<Vec<T>> {
    let all = T::slice(x.storage())
        .ok_or_else(|| Error::dtype("index_select", format!("expected {}", T::DTYPE)))?;
    let layout = x.layout();
    let drop_axis = |v: &[usize]| {
        let mut v = v.to_vec();
        v.remove(axis);
        v
    };
    let (shape, strides) = (drop_axis(layout.shape()), drop_axis(layout.strides()));
    // One block per selected index: `[outer, inner]` elements, gathered straight from the view.
    let blocks: Vec<Vec<T>> = idx
        .iter()
        .map(|&i| {
            let block = Layout::from_parts(
                shape.clone(),
                strides.clone(),
                layout.offset() + i * layout.strides()[axis],
            );
            crate::backend::cpu::gather_strided(all, &block)
        })
        .collect();
    if outer == 1 {
        return Ok(blocks.concat());
    }
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for b in &blocks {
            out.extend_from_slice(&b[o * inner..(o + 1) * inner]);
        }
    }
    Ok(out)
}
