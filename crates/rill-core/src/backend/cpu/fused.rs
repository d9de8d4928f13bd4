//! Kernels of fused ops: several elementwise steps in one pass over memory.

use super::parallel::{chunk_len, PARALLEL_MIN_ELEMENTS};
use num_traits::Float;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Whole rows of `c` values per parallel piece of work, about `chunk_len(n)` values in all
/// (everything in one piece when `n` is too small to share).
pub(super) fn piece_len(n: usize, c: usize) -> usize {
    if n < PARALLEL_MIN_ELEMENTS {
        return n.max(c).max(1);
    }
    chunk_len(n).div_ceil(c) * c
}

/// Fills a new buffer of `n` values piece by piece: `fill` gets each piece (whole rows of `c`,
/// uninitialised) and its offset, and must write every value of it.
pub(super) fn build_rows<T: Send, R: Send>(
    n: usize,
    c: usize,
    fill: impl Fn(&mut [MaybeUninit<T>], usize) -> R + Sync,
) -> (Vec<T>, Vec<R>) {
    let piece = piece_len(n, c);
    let mut out: Vec<T> = Vec::with_capacity(n);
    let results = out.spare_capacity_mut()[..n]
        .par_chunks_mut(piece)
        .enumerate()
        .map(|(i, chunk)| fill(chunk, i * piece))
        .collect();
    // SAFETY: `out` has capacity `n`; its first `n` slots are tiled by the chunks handed to
    // `fill`, and every caller's `fill` writes each slot of its chunk (they zip the chunk with
    // input slices of the same length and write through every element).
    unsafe { out.set_len(n) };
    (out, results)
}

/// `out = relu(x + b)` with `b` (length `c`) added to every row of `x` (rows of `c` values).
pub fn bias_relu_forward<T: Float + Send + Sync>(x: &[T], b: &[T], c: usize) -> Vec<T> {
    assert!(
        c > 0 && b.len() == c && x.len().is_multiple_of(c),
        "bias_relu: rows of {c} values"
    );
    let (out, _) = build_rows(x.len(), c, |o, at| {
        for (o, x) in o.chunks_mut(c).zip(x[at..].chunks(c)) {
            for ((o, &v), &b) in o.iter_mut().zip(x).zip(b) {
                let s = v + b;
                o.write(if s > T::zero() { s } else { T::zero() });
            }
        }
    });
    out
}

/// [`bias_relu_forward`] over `x` itself: `x = relu(x + b)`.
pub fn bias_relu_in_place<T: Float + Send + Sync>(x: &mut [T], b: &[T], c: usize) {
    assert!(
        c > 0 && b.len() == c && x.len().is_multiple_of(c),
        "bias_relu: rows of {c} values"
    );
    let piece = piece_len(x.len(), c);
    x.par_chunks_mut(piece).for_each(|piece| {
        for row in piece.chunks_mut(c) {
            for (v, &b) in row.iter_mut().zip(b) {
                let s = *v + b;
                *v = if s > T::zero() { s } else { T::zero() };
            }
        }
    });
}

/// The gradient of [`bias_relu_forward`] from its output `y` and the output gradient `g`:
/// `dx = g · [y > 0]` and `db = Σ_rows dx`, in one pass.
pub fn bias_relu_backward<T: Float + Send + Sync>(y: &[T], g: &[T], c: usize) -> (Vec<T>, Vec<T>) {
    assert!(
        c > 0 && y.len() == g.len() && y.len().is_multiple_of(c),
        "bias_relu: rows of {c} values"
    );
    let (dx, partial) = build_rows(y.len(), c, |dx, at| {
        let mut db = vec![T::zero(); c];
        let rows = dx
            .chunks_mut(c)
            .zip(y[at..].chunks(c))
            .zip(g[at..].chunks(c));
        for ((dx, y), g) in rows {
            for (((dx, &y), &g), db) in dx.iter_mut().zip(y).zip(g).zip(db.iter_mut()) {
                let v = if y > T::zero() { g } else { T::zero() };
                dx.write(v);
                *db = *db + v;
            }
        }
        db
    });
    let mut db = vec![T::zero(); c];
    for p in partial {
        db.iter_mut().zip(&p).for_each(|(a, &b)| *a = *a + b);
    }
    (dx, db)
}
