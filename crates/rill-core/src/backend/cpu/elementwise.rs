use super::parallel::{chunk_len, PARALLEL_MIN_ELEMENTS};
use crate::layout::Layout;
use rayon::prelude::*;

/// `out[i] = f(x[i])`, on both cores for large inputs.
pub fn map<T: Copy + Sync, U: Copy + Send + Default>(x: &[T], f: impl Fn(T) -> U + Sync) -> Vec<U> {
    // Collecting writes each element once; a zero-filled buffer would cost a second pass.
    if x.len() < PARALLEL_MIN_ELEMENTS {
        x.iter().map(|&v| f(v)).collect()
    } else {
        let mut out = Vec::with_capacity(x.len());
        x.par_iter()
            .map(|&v| f(v))
            .with_min_len(4096)
            .collect_into_vec(&mut out);
        out
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
        out.par_chunks_mut(n)
            .zip(a.par_chunks(n))
            .zip(b.par_chunks(n).zip(c.par_chunks(n)))
            .for_each(|((o, a), (b, c))| run(o, a, b, c));
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
            out.par_chunks_mut(c)
                .zip(a.par_chunks(c).zip(b.par_chunks(c)))
                .for_each(|(o, (a, b))| run(o, a, b));
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
        out.par_chunks_mut(inner)
            .enumerate()
            .with_min_len(rows.div_ceil(64).max(1))
            .for_each(|(row, o)| do_row(row, o));
    }
    out
}
