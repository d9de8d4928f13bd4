//! How a tensor's elements sit in its storage: shape, strides (in elements) and offset.
//! Views (transpose, slice, broadcast) change only the layout, never the storage.

use crate::error::{Error, Result, ShapeDisplay};

/// Shape, strides and offset of a tensor over its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}

/// Row-major (C-order) strides of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        // Saturating: a shape with a zero dimension holds nothing, yet its other dimensions may
        // be huge (found by fuzzing the IDX reader); its strides are never used to address data.
        strides[i] = strides[i + 1].saturating_mul(shape[i + 1]);
    }
    strides
}

/// Resolves a possibly negative axis against `rank`, as NumPy does.
pub fn normalize_axis(op: &'static str, axis: isize, rank: usize) -> Result<usize> {
    let r = rank as isize;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(Error::invalid(
            op,
            format!("axis {axis} is out of range for a tensor of rank {rank}"),
        ));
    }
    Ok(a as usize)
}

/// Resolves a list of axes (possibly negative); an empty list means every axis. Duplicates are errors.
pub fn normalize_axes(op: &'static str, axes: &[isize], rank: usize) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..rank).collect());
    }
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = normalize_axis(op, a, rank)?;
        if out.contains(&n) {
            return Err(Error::invalid(
                op,
                format!("axis {a} is repeated in {axes:?}"),
            ));
        }
        out.push(n);
    }
    out.sort_unstable();
    Ok(out)
}

/// NumPy broadcasting of two shapes.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "shapes cannot be broadcast together: {} and {}",
                        ShapeDisplay(a),
                        ShapeDisplay(b)
                    ),
                ))
            }
        };
    }
    Ok(out)
}

impl Layout {
    /// A contiguous row-major layout of `shape` at offset 0.
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }
    /// A layout from its parts; the caller guarantees it stays inside the storage.
    pub(crate) fn from_parts(shape: Vec<usize>, strides: Vec<usize>, offset: usize) -> Self {
        debug_assert_eq!(shape.len(), strides.len());
        Layout {
            shape,
            strides,
            offset,
        }
    }
    /// The extent of each dimension.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The step, in elements, between neighbours along each dimension (0 for broadcast dimensions).
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }
    /// Where the first element sits in the storage.
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Whether the elements are row-major and packed (the offset may be non-zero).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }
    /// The contiguous range of storage this layout covers, if it is contiguous.
    pub fn contiguous_range(&self) -> Option<std::ops::Range<usize>> {
        self.is_contiguous()
            .then(|| self.offset..self.offset + self.numel())
    }
    /// This layout broadcast to `shape` (stride 0 on the new or stretched dimensions).
    pub fn broadcast_to(&self, op: &'static str, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.shape.len() {
            return Err(Error::shape(
                op,
                format!(
                    "cannot broadcast {} to {}",
                    ShapeDisplay(&self.shape),
                    ShapeDisplay(shape)
                ),
            ));
        }
        let lead = shape.len() - self.shape.len();
        let mut strides = vec![0; shape.len()];
        for (i, &d) in shape.iter().enumerate() {
            if i < lead {
                continue;
            }
            let own = self.shape[i - lead];
            if own == d {
                strides[i] = self.strides[i - lead];
            } else if own != 1 {
                return Err(Error::shape(
                    op,
                    format!(
                        "cannot broadcast {} to {}",
                        ShapeDisplay(&self.shape),
                        ShapeDisplay(shape)
                    ),
                ));
            }
        }
        Ok(Layout {
            shape: shape.to_vec(),
            strides,
            offset: self.offset,
        })
    }
    /// This layout with its dimensions reordered by `perm`.
    pub fn permute(&self, perm: &[usize]) -> Layout {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }
    /// The storage index of every element, in row-major order of this layout.
    pub fn indices(&self) -> StridedIndex<'_> {
        StridedIndex::new(self)
    }
}

/// Iterates the storage offsets of a layout's elements in row-major order.
pub struct StridedIndex<'a> {
    layout: &'a Layout,
    index: Vec<usize>,
    next: Option<usize>,
}

impl<'a> StridedIndex<'a> {
    fn new(layout: &'a Layout) -> Self {
        let next = (layout.numel() > 0).then_some(layout.offset);
        StridedIndex {
            layout,
            index: vec![0; layout.shape.len()],
            next,
        }
    }
}

impl Iterator for StridedIndex<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        let current = self.next?;
        let mut pos = current;
        let mut d = self.index.len();
        loop {
            if d == 0 {
                self.next = None;
                break;
            }
            d -= 1;
            self.index[d] += 1;
            pos += self.layout.strides[d];
            if self.index[d] < self.layout.shape[d] {
                self.next = Some(pos);
                break;
            }
            pos -= self.layout.strides[d] * self.index[d];
            self.index[d] = 0;
        }
        Some(current)
    }
}
