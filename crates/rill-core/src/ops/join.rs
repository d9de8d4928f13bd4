use crate::dtype::Element;
use crate::error::{Error, Result, ShapeDisplay};
use crate::layout::normalize_axis;
use crate::tensor::Tensor;

impl Tensor {
    /// Joins tensors along an existing `axis`; all other dimensions must agree.
    pub fn concat(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        const OP: &str = "concat";
        let first = tensors
            .first()
            .ok_or_else(|| Error::invalid(OP, "needs at least one tensor"))?;
        let a = normalize_axis(OP, axis, first.rank())?;
        for t in tensors {
            let agree = t.rank() == first.rank()
                && t.dtype() == first.dtype()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(d, (x, y))| d == a || x == y);
            if !agree {
                return Err(Error::shape(
                    OP,
                    format!(
                        "{} {} does not match {} {} outside axis {a}",
                        t.dtype(),
                        ShapeDisplay(t.shape()),
                        first.dtype(),
                        ShapeDisplay(first.shape())
                    ),
                ));
            }
        }
        let outer: usize = first.shape()[..a].iter().product();
        let inner: usize = first.shape()[a + 1..].iter().product();
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[a]).collect();
        let mut shape = first.shape().to_vec();
        shape[a] = sizes.iter().sum();
        let storage = crate::dispatch_any!(first.dtype(), T => {
            let parts = tensors.iter().map(|t| t.data::<T>()).collect::<Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(shape.iter().product());
            for o in 0..outer {
                for (p, &s) in parts.iter().zip(&sizes) {
                    out.extend_from_slice(&p[o * s * inner..(o + 1) * s * inner]);
                }
            }
            T::into_storage(out)
        }, string => return Tensor::strings_concatenated(tensors, axis));
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(Tensor::record(storage, &shape, &inputs, OP, move |ctx| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for (&s, &need) in sizes.iter().zip(ctx.needs) {
                grads.push(if need {
                    Some(ctx.grad.slice(a as isize, start, start + s)?.contiguous())
                } else {
                    None
                });
                start += s;
            }
            Ok(grads)
        }))
    }

    /// Joins tensors of one shape along a new `axis`.
    pub fn stack(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::invalid("stack", "needs at least one tensor"))?;
        let a = normalize_axis("stack", axis, first.rank() + 1)?;
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(Error::shape(
                "stack",
                format!(
                    "all tensors need one shape, found {} and {}",
                    ShapeDisplay(first.shape()),
                    ShapeDisplay(t.shape())
                ),
            ));
        }
        let expanded = tensors
            .iter()
            .map(|t| t.unsqueeze(a as isize))
            .collect::<Result<Vec<_>>>()?;
        Tensor::concat(&expanded, a as isize)
    }

    /// Pads with `value`: `pads[d] = (before, after)` for every dimension d.
    pub fn pad(&self, pads: &[(usize, usize)], value: f64) -> Result<Tensor> {
        const OP: &str = "pad";
        if pads.len() != self.rank() {
            return Err(Error::invalid(
                OP,
                format!(
                    "needs one (before, after) pair per dimension: {} for {}, found {}",
                    self.rank(),
                    ShapeDisplay(self.shape()),
                    pads.len()
                ),
            ));
        }
        let shape: Vec<usize> = self
            .shape()
            .iter()
            .zip(pads)
            .map(|(&d, &(b, a))| d + b + a)
            .collect();
        let out_strides = crate::layout::contiguous_strides(&shape);
        let base: usize = pads
            .iter()
            .zip(&out_strides)
            .map(|(&(b, _), &s)| b * s)
            .sum();
        let dst = crate::layout::Layout::from_parts(self.shape().to_vec(), out_strides, base);
        let storage = crate::dispatch_any!(self.dtype(), T => {
            let x = self.data::<T>()?;
            let mut out = vec![T::from_f64(value); shape.iter().product()];
            for (pos, &v) in dst.indices().zip(x.iter()) {
                out[pos] = v;
            }
            T::into_storage(out)
        }, string => return Err(crate::strings::not_for_strings(OP)));
        let pads = pads.to_vec();
        Ok(Tensor::record(storage, &shape, &[self], OP, move |ctx| {
            let mut g = ctx.grad.clone();
            for (d, &(b, _)) in pads.iter().enumerate() {
                let len = ctx.inputs[0].shape()[d];
                g = g.slice(d as isize, b, b + len)?;
            }
            Ok(vec![Some(g.contiguous())])
        }))
    }
}
