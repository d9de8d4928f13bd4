use super::parallel::{chunk_len, PARALLEL_MIN_ELEMENTS};
use crate::dtype::Element;
use crate::layout::Layout;
use num_traits::Float;
use rayon::prelude::*;

/// What a reduction computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKind {
    /// The sum.
    Sum,
    /// The largest element.
    Max,
    /// The smallest element.
    Min,
}

/// Sums a slice with eight independent accumulators: the compiler vectorises it, and the rounding
/// error grows far slower than with one running sum.
pub fn sum_slice<T: Float>(x: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] = acc[i] + c[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in rest {
        s = s + v;
    }
    s
}

fn fold<T: Float>(kind: ReduceKind, x: &[T]) -> T {
    match kind {
        ReduceKind::Sum => sum_slice(x),
        ReduceKind::Max => {
            x.iter().copied().fold(
                T::neg_infinity(),
                |a, b| if b > a || b.is_nan() { b } else { a },
            )
        }
        ReduceKind::Min => {
            x.iter().copied().fold(
                T::infinity(),
                |a, b| if b < a || b.is_nan() { b } else { a },
            )
        }
    }
}

fn combine<T: Float>(kind: ReduceKind, a: T, b: T) -> T {
    match kind {
        ReduceKind::Sum => a + b,
        ReduceKind::Max => {
            if b > a || b.is_nan() {
                b
            } else {
                a
            }
        }
        ReduceKind::Min => {
            if b < a || b.is_nan() {
                b
            } else {
                a
            }
        }
    }
}

/// Reduces packed row-major `x` of `shape` over the sorted `axes`; returns the kept elements in
/// row-major order. Trailing and leading axis blocks are reduced in place; any other set is
/// first permuted so that the reduced axes come last.
pub fn reduce_axes<T: Float + Element + Send + Sync>(
    kind: ReduceKind,
    x: &[T],
    shape: &[usize],
    axes: &[usize],
) -> Vec<T> {
    let rank = shape.len();
    let reduced: usize = axes.iter().map(|&a| shape[a]).product();
    let kept = x.len() / reduced.max(1);
    if reduced == 0 {
        let identity = match kind {
            ReduceKind::Sum => T::zero(),
            ReduceKind::Max => T::neg_infinity(),
            ReduceKind::Min => T::infinity(),
        };
        return vec![
            identity;
            shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, &d)| d)
                .product()
        ];
    }
    let trailing = axes
        .iter()
        .enumerate()
        .all(|(i, &a)| a == rank - axes.len() + i);
    let leading = axes.iter().enumerate().all(|(i, &a)| a == i);
    if trailing {
        if kept == 1 && reduced >= PARALLEL_MIN_ELEMENTS {
            // One long reduction: each thread folds a piece, then the pieces are combined.
            let parts: Vec<T> = x
                .par_chunks(chunk_len(reduced))
                .map(|c| fold(kind, c))
                .collect();
            return vec![fold(kind, &parts)];
        }
        if x.len() >= PARALLEL_MIN_ELEMENTS {
            return x.par_chunks(reduced).map(|c| fold(kind, c)).collect();
        }
        return x.chunks(reduced).map(|c| fold(kind, c)).collect();
    }
    if leading {
        let mut out = x[..kept].to_vec();
        for row in x.chunks(kept).skip(1) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = combine(kind, *o, v);
            }
        }
        return out;
    }
    let mut perm: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
    perm.extend_from_slice(axes);
    let moved = super::gather_strided(x, &Layout::contiguous(shape).permute(&perm));
    moved.chunks(reduced).map(|c| fold(kind, c)).collect()
}

/// The index of the largest (`largest = true`) or smallest element of each row of `width`
/// elements; the first one wins ties, as in NumPy.
pub fn arg_reduce_last<T: PartialOrd + Copy>(x: &[T], width: usize, largest: bool) -> Vec<i64> {
    x.chunks(width)
        .map(|row| {
            let mut best = 0;
            for (i, v) in row.iter().enumerate().skip(1) {
                let better = if largest {
                    *v > row[best]
                } else {
                    *v < row[best]
                };
                if better {
                    best = i;
                }
            }
            best as i64
        })
        .collect()
}
