use super::sum_to_shape;
use crate::error::{Error, Result, ShapeDisplay};
use crate::layout::{contiguous_strides, normalize_axis, Layout};
use crate::tensor::Tensor;

impl Tensor {
    /// The same elements with a new shape (row-major order kept). A view when the tensor is
    /// contiguous, a copy otherwise.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape {} ({} elements) into {} ({n} elements)",
                    ShapeDisplay(self.shape()),
                    self.numel(),
                    ShapeDisplay(shape)
                ),
            ));
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let src = if self.layout().is_contiguous() {
            self.clone()
        } else {
            self.contiguous()
        };
        let layout = Layout::from_parts(
            shape.to_vec(),
            contiguous_strides(shape),
            src.layout().offset(),
        );
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record_view(
            src.storage().clone(),
            layout,
            &[&src],
            "reshape",
            move |ctx| Ok(vec![Some(ctx.grad.reshape(&in_shape)?)]),
        ))
    }

    /// Reshape with at most one dimension given as `-1`, inferred from the others.
    pub fn reshape_infer(&self, shape: &[isize]) -> Result<Tensor> {
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let unknown = shape.iter().filter(|&&d| d < 0).count();
        if unknown > 1 || (unknown == 1 && (known == 0 || !self.numel().is_multiple_of(known))) {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape {} into {shape:?}",
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| {
                if d < 0 {
                    self.numel() / known.max(1)
                } else {
                    d as usize
                }
            })
            .collect();
        self.reshape(&dims)
    }

    /// Flattens every dimension from `start` on into one: `[N, 28, 28]` → `[N, 784]` for `start = 1`.
    pub fn flatten_from(&self, start: usize) -> Result<Tensor> {
        if start > self.rank() {
            return Err(Error::invalid(
                "flatten",
                format!("start dimension {start} is beyond rank {}", self.rank()),
            ));
        }
        let mut shape = self.shape()[..start].to_vec();
        shape.push(self.shape()[start..].iter().product());
        self.reshape(&shape)
    }

    /// The dimensions reordered: result dimension i is input dimension `perm[i]`. A view.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.rank()];
        if perm.len() != self.rank()
            || perm
                .iter()
                .any(|&p| p >= self.rank() || std::mem::replace(&mut seen[p], true))
        {
            return Err(Error::invalid(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the {} dimensions of {}",
                    self.rank(),
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let layout = self.layout().permute(perm);
        Ok(Tensor::record_view(
            self.storage().clone(),
            layout,
            &[self],
            "permute",
            move |ctx| Ok(vec![Some(ctx.grad.permute(&inverse)?)]),
        ))
    }

    /// Swaps two dimensions (negative counts from the end). A view.
    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Tensor> {
        let a = normalize_axis("transpose", d0, self.rank())?;
        let b = normalize_axis("transpose", d1, self.rank())?;
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Removes dimension `axis`, which must have extent 1.
    pub fn squeeze(&self, axis: isize) -> Result<Tensor> {
        let a = normalize_axis("squeeze", axis, self.rank())?;
        if self.shape()[a] != 1 {
            return Err(Error::shape(
                "squeeze",
                format!("dimension {a} of {} is not 1", ShapeDisplay(self.shape())),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape.remove(a);
        self.reshape(&shape)
    }

    /// Inserts a dimension of extent 1 at `axis` (which may equal the rank).
    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let a = normalize_axis("unsqueeze", axis, self.rank() + 1)?;
        let mut shape = self.shape().to_vec();
        shape.insert(a, 1);
        self.reshape(&shape)
    }

    /// A view stretched to `shape` by NumPy broadcasting (no copy; stride 0).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let layout = self.layout().broadcast_to("broadcast_to", shape)?;
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record_view(
            self.storage().clone(),
            layout,
            &[self],
            "broadcast_to",
            move |ctx| Ok(vec![Some(sum_to_shape(ctx.grad, &in_shape)?)]),
        ))
    }
}
