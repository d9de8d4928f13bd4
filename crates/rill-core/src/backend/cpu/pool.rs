use super::patches::PatchGeometry;
use num_traits::Float;
use rayon::prelude::*;

/// Pooling uses the same window geometry as convolution (dilation 1).
pub type PoolGeometry = PatchGeometry;

/// Max pooling over NHWC: the output [n, oh, ow, c]. Padding never wins.
///
/// Only the maxima are kept: [`max_pool_backward`] finds each one again in the input, which
/// costs less than writing and reading an index per output, and lets this loop vectorise.
pub fn max_pool_forward<T: Float + Send + Sync>(x: &[T], g: &PoolGeometry) -> Vec<T> {
    let per_out = g.oh * g.ow * g.c;
    // Zeroed (a calloc, not a fill pass): every element is then set by its window's first real
    // input, which always counts, so a window of -inf or NaN still yields one of its inputs.
    let mut out = vec![T::zero(); g.n * per_out];
    let per_in = g.h * g.w * g.c;
    if per_out == 0 || per_in == 0 {
        return out;
    }
    out.par_chunks_mut(per_out)
        .zip(x.par_chunks(per_in))
        .for_each(|(o, x)| {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let at = (oy * g.ow + ox) * g.c;
                    let o = &mut o[at..at + g.c];
                    let mut first = true;
                    for (y, xx) in window(g, oy, ox) {
                        let s = (y * g.w + xx) * g.c;
                        let row = &x[s..s + g.c];
                        if first {
                            o.copy_from_slice(row);
                            first = false;
                        } else {
                            for (o, &v) in o.iter_mut().zip(row) {
                                *o = if v > *o { v } else { *o };
                            }
                        }
                    }
                }
            }
        });
    out
}

/// The real (non-padding) input positions under the window of output (oy, ox), in row order.
fn window(g: &PoolGeometry, oy: usize, ox: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    (0..g.kh).flat_map(move |ki| (0..g.kw).filter_map(move |kj| g.source(oy, ox, ki, kj)))
}

/// The gradient of max pooling: each output's gradient goes to the first input of its window
/// (in row order) that equals the output — the one [`max_pool_forward`] kept.
pub fn max_pool_backward<T: Float + Send + Sync>(
    grad: &[T],
    x: &[T],
    out: &[T],
    g: &PoolGeometry,
) -> Vec<T> {
    let per_in = g.h * g.w * g.c;
    let per_out = g.oh * g.ow * g.c;
    let mut dx = vec![T::zero(); g.n * per_in];
    if per_in == 0 || per_out == 0 {
        return dx;
    }
    // When every window lies inside the input (no padding above or left, and the last window
    // ends inside: "same" may pad only below or right), its cells sit at fixed offsets from
    // its corner, computed once instead of per window.
    let unpadded = g.pad_top == 0
        && g.pad_left == 0
        && (g.oh - 1) * g.sh + (g.kh - 1) * g.dh < g.h
        && (g.ow - 1) * g.sw + (g.kw - 1) * g.dw < g.w;
    let rel: Vec<usize> = (0..g.kh)
        .flat_map(|ki| (0..g.kw).map(move |kj| (ki * g.dh * g.w + kj * g.dw) * g.c))
        .collect();
    dx.par_chunks_mut(per_in)
        .zip(x.par_chunks(per_in))
        .zip(grad.par_chunks(per_out).zip(out.par_chunks(per_out)))
        .for_each(|((d, x), (grad, out))| {
            // Per channel, which of the window's cells receives the gradient (a u32 beside the
            // f32 compare, so the loop vectorises); and the window's cells as input offsets.
            let mut pick = vec![0u32; g.c];
            let mut cells = Vec::with_capacity(g.kh * g.kw);
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let at = (oy * g.ow + ox) * g.c;
                    let (grad, out) = (&grad[at..at + g.c], &out[at..at + g.c]);
                    cells.clear();
                    if unpadded {
                        let base = (oy * g.sh * g.w + ox * g.sw) * g.c;
                        cells.extend(rel.iter().map(|r| base + r));
                    } else {
                        cells.extend(window(g, oy, ox).map(|(y, xx)| (y * g.w + xx) * g.c));
                    }
                    // Walking the window backwards, the last match kept is the first in row
                    // order; a NaN maximum matches nothing and stays with the first cell, as
                    // in the forward pass.
                    pick.fill(0);
                    for (k, &s) in cells.iter().enumerate().rev() {
                        let k = k as u32;
                        for ((p, &v), &m) in pick.iter_mut().zip(&x[s..s + g.c]).zip(out) {
                            *p = if v == m { k } else { *p };
                        }
                    }
                    if cells.is_empty() {
                        continue;
                    }
                    for (ch, (&p, &gv)) in pick.iter().zip(grad).enumerate() {
                        let i = cells[p as usize] + ch;
                        d[i] = d[i] + gv;
                    }
                }
            }
        });
    dx
}

/// How many real (non-padding) inputs sit under the window of output position (oy, ox).
fn window_count(g: &PoolGeometry, oy: usize, ox: usize) -> usize {
    let mut n = 0;
    for ki in 0..g.kh {
        for kj in 0..g.kw {
            n += g.source(oy, ox, ki, kj).is_some() as usize;
        }
    }
    n
}

/// Average pooling over NHWC; padding is excluded from the average, as in Keras.
pub fn avg_pool_forward<T: Float + Send + Sync>(x: &[T], g: &PoolGeometry) -> Vec<T> {
    let per_out = g.oh * g.ow * g.c;
    let per_in = g.h * g.w * g.c;
    let mut out = vec![T::zero(); g.n * per_out];
    if per_out == 0 {
        return out;
    }
    out.par_chunks_mut(per_out).enumerate().for_each(|(b, o)| {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let at = (oy * g.ow + ox) * g.c;
                let o = &mut o[at..at + g.c];
                for ki in 0..g.kh {
                    for kj in 0..g.kw {
                        let Some((y, xx)) = g.source(oy, ox, ki, kj) else {
                            continue;
                        };
                        let s = b * per_in + (y * g.w + xx) * g.c;
                        for (o, &v) in o.iter_mut().zip(&x[s..s + g.c]) {
                            *o = *o + v;
                        }
                    }
                }
                let inv = T::one() / T::from(window_count(g, oy, ox).max(1)).unwrap_or_else(T::one);
                o.iter_mut().for_each(|v| *v = *v * inv);
            }
        }
    });
    out
}

/// The gradient of average pooling: each output gradient is shared equally by its window.
pub fn avg_pool_backward<T: Float + Send + Sync>(grad: &[T], g: &PoolGeometry) -> Vec<T> {
    let per_out = g.oh * g.ow * g.c;
    let per_in = g.h * g.w * g.c;
    let mut dx = vec![T::zero(); g.n * per_in];
    if per_in == 0 {
        return dx;
    }
    dx.par_chunks_mut(per_in).enumerate().for_each(|(b, d)| {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let at = b * per_out + (oy * g.ow + ox) * g.c;
                let inv = T::one() / T::from(window_count(g, oy, ox).max(1)).unwrap_or_else(T::one);
                for ki in 0..g.kh {
                    for kj in 0..g.kw {
                        let Some((y, xx)) = g.source(oy, ox, ki, kj) else {
                            continue;
                        };
                        let s = (y * g.w + xx) * g.c;
                        for (dv, &gv) in d[s..s + g.c].iter_mut().zip(&grad[at..at + g.c]) {
                            *dv = *dv + gv * inv;
                        }
                    }
                }
            }
        }
    });
    dx
}
