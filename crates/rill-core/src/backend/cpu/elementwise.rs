use super::parallel::{chunk_len, join_or_help, PARALLEL_MIN_ELEMENTS};
use crate::layout::Layout;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Runs `body(i, chunk)` for every `chunk` of `out` cut into pieces of `len` elements (the
/// `i`-th starts at `i * len`), on the pool's threads.
///
/// Every parallel loop of this file goes through here, with its work behind `dyn`: rayon's
/// splitting and joining machinery is then compiled once per element type instead of once per
/// closure, that is per op and dtype (measured with `cargo llvm-lines`: rayon's code for ~360
/// closures was half of rill-core's LLVM IR, and rill-core the largest part of a clean build).
fn par_chunks<U: Send>(out: &mut [U], len: usize, body: &(dyn Fn(usize, &mut [U]) + Sync)) {
    out.par_chunks_mut(len)
        .enumerate()
        .for_each(|(i, chunk)| body(i, chunk));
}

/// From this many elements up to [`PARALLEL_MIN_ELEMENTS`] a map is shared with the helper
/// core ([`join_or_help`]), which takes work within a microsecond when it is awake. Measured on
/// the 2-core Zen 4: the tutorial MLP's `Rescaling` of 25 K bytes to floats took 11-12 µs a
/// step on one core and 7-8 µs shared.
const SHARED_MIN_ELEMENTS: usize = 1 << 13;

/// `out[i] = f(x[i])`, on both cores for large inputs.
pub fn map<T: Copy + Sync, U: Copy + Send + Default>(x: &[T], f: impl Fn(T) -> U + Sync) -> Vec<U> {
    // Written once into uninitialised memory: a zero-filled buffer would cost a second pass.
    let mut out: Vec<U> = Vec::with_capacity(x.len());
    let spare = &mut out.spare_capacity_mut()[..x.len()];
    if x.len() < SHARED_MIN_ELEMENTS {
        write_mapped(spare, x, &f);
    } else if x.len() < PARALLEL_MIN_ELEMENTS {
        // Too small to wake rayon's threads, large enough to share with the helper core.
        let half = (x.len() / 2).next_multiple_of(16);
        let (first, second) = spare.split_at_mut(half);
        join_or_help(
            || write_mapped(first, x, &f),
            || write_mapped(second, &x[half..], &f),
        );
    } else {
        let len = chunk_len(x.len());
        par_chunks(spare, len, &|i, o| write_mapped(o, &x[i * len..], &f));
    }
    // SAFETY: `write_mapped` wrote every element of the first `x.len()` of the capacity (the
    // chunks cover them, and `x` has an element for each).
    unsafe { out.set_len(x.len()) };
    out
}

/// `out[i] = f(x[i])` for every element of `out`.
///
/// A function of its own so that `out` arrives as a distinct `&mut` argument, which the compiler
/// knows aliases nothing else: written as `x.iter().map(f).collect()`, the store to the new
/// vector might have changed whatever `f` captured (a scalar operand, say), so every element
/// reloaded it and the loop stayed scalar — measured, a tensor of 25 K floats times a scalar took
/// 10–13 µs instead of 2.
#[inline]
fn write_mapped<T: Copy, U>(out: &mut [MaybeUninit<U>], x: &[T], f: &impl Fn(T) -> U) {
    for (o, &v) in out.iter_mut().zip(x) {
        o.write(f(v));
    }
}

/// `out[i] = f(a[i], b[i], c[i])` over three packed slices of equal length.
pub fn map3_same<T: Copy + Sync, U: Copy + Send + Default>(
    a: &[T],
    b: &[T],
    c: &[T],
    f: impl Fn(T, T, T) -> U + Sync,
) -> Vec<U> {
    let mut out = vec![U::default(); a.len()];
    let run = |o: &mut [U], a: &[T], b: &[T], c: &[T]| {
        for (((o, &a), &b), &c) in o.iter_mut().zip(a).zip(b).zip(c) {
            *o = f(a, b, c);
        }
    };
    if a.len() < PARALLEL_MIN_ELEMENTS {
        run(&mut out, a, b, c);
    } else {
        let n = chunk_len(a.len());
        par_chunks(&mut out, n, &|i, o| {
            let s = i * n..i * n + o.len();
            run(o, &a[s.clone()], &b[s.clone()], &c[s]);
        });
    }
    out
}

/// `out = f(a, b)` elementwise, where `la` and `lb` are both already broadcast to the output
/// shape (stride 0 on broadcast dimensions). The innermost dimension is the vectorised loop, with
/// fast paths for packed operands and for a broadcast scalar row.
pub fn map2_broadcast<T: Copy + Sync, U: Copy + Send + Default>(
    a: &[T],
    la: &Layout,
    b: &[T],
    lb: &Layout,
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    let shape = la.shape();
    let n = la.numel();
    if let (Some(ra), Some(rb)) = (la.contiguous_range(), lb.contiguous_range()) {
        let (a, b) = (&a[ra], &b[rb]);
        let mut out = vec![U::default(); n];
        let run = |o: &mut [U], a: &[T], b: &[T]| {
            for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        };
        if n < PARALLEL_MIN_ELEMENTS {
            run(&mut out, a, b);
        } else {
            let c = chunk_len(n);
            par_chunks(&mut out, c, &|i, o| {
                let s = i * c..i * c + o.len();
                run(o, &a[s.clone()], &b[s]);
            });
        }
        return out;
    }
    // One operand a single value broadcast everywhere (a tensor times a scalar): one flat loop,
    // rather than one per innermost row (28 floats per row of a batch of images).
    let is_one_value = |l: &Layout| l.strides().iter().all(|&s| s == 0);
    match (la.contiguous_range(), lb.contiguous_range()) {
        _ if n == 0 => {}
        (Some(ra), None) if is_one_value(lb) => {
            let y = b[lb.offset()];
            return map(&a[ra], |x| f(x, y));
        }
        (None, Some(rb)) if is_one_value(la) => {
            let x = a[la.offset()];
            return map(&b[rb], |y| f(x, y));
        }
        _ => {}
    }
    let rank = shape.len();
    let inner = shape[rank - 1];
    let (sa, sb) = (la.strides()[rank - 1], lb.strides()[rank - 1]);
    let rows = n / inner.max(1);
    let mut out = vec![U::default(); n];
    if n == 0 {
        return out;
    }
    let row_offset = |row: usize, l: &Layout| {
        let mut rest = row;
        let mut off = l.offset();
        for d in (0..rank - 1).rev() {
            off += (rest % shape[d]) * l.strides()[d];
            rest /= shape[d];
        }
        off
    };
    let do_row = |row: usize, o: &mut [U]| {
        let (oa, ob) = (row_offset(row, la), row_offset(row, lb));
        match (sa, sb) {
            (1, 1) => {
                for ((o, &x), &y) in o.iter_mut().zip(&a[oa..oa + inner]).zip(&b[ob..ob + inner]) {
                    *o = f(x, y);
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (o, &x) in o.iter_mut().zip(&a[oa..oa + inner]) {
                    *o = f(x, y);
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (o, &y) in o.iter_mut().zip(&b[ob..ob + inner]) {
                    *o = f(x, y);
                }
            }
            _ => {
                for (i, o) in o.iter_mut().enumerate() {
                    *o = f(a[oa + i * sa], b[ob + i * sb]);
                }
            }
        }
    };
    if n < PARALLEL_MIN_ELEMENTS {
        for (row, o) in out.chunks_mut(inner).enumerate() {
            do_row(row, o);
        }
    } else {
        // Up to 64 pieces of whole rows.
        let rows_per_piece = rows.div_ceil(64).max(1);
        par_chunks(&mut out, rows_per_piece * inner, &|i, o| {
            for (r, o) in o.chunks_mut(inner).enumerate() {
                do_row(i * rows_per_piece + r, o);
            }
        });
    }
    out
}
