use super::patches::PatchGeometry;
use num_traits::Float;
use rayon::prelude::*;

/// Pooling uses the same window geometry as convolution (dilation 1).
pub type PoolGeometry = PatchGeometry;

/// Max pooling over NHWC: returns the output [n, oh, ow, c] and, for each output element, the
/// index of its maximum within its own sample's input (for the gradient). Padding never wins.
///
/// Both outputs start zeroed (a calloc, not a fill pass): every element is written by its
/// window's first real input, which always wins, so even an all -inf window points its
/// gradient at a real input.
pub fn max_pool_forward<T: Float + Send + Sync>(x: &[T], g: &PoolGeometry) -> (Vec<T>, Vec<u32>) {
    let per_out = g.oh * g.ow * g.c;
    let mut out = vec![T::zero(); g.n * per_out];
    let mut arg = vec![0u32; g.n * per_out];
    let per_in = g.h * g.w * g.c;
    if per_out == 0 || per_in == 0 {
        return (out, arg);
    }
    out.par_chunks_mut(per_out)
        .zip(arg.par_chunks_mut(per_out))
        .zip(x.par_chunks(per_in))
        .for_each(|((o, a), x)| {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let at = (oy * g.ow + ox) * g.c;
                    let (o, a) = (&mut o[at..at + g.c], &mut a[at..at + g.c]);
                    let mut first = true;
                    for ki in 0..g.kh {
                        for kj in 0..g.kw {
                            let Some((y, xx)) = g.source(oy, ox, ki, kj) else {
                                continue;
                            };
                            let s = (y * g.w + xx) * g.c;
                            let row = &x[s..s + g.c];
                            if first {
                                o.copy_from_slice(row);
                                a.iter_mut().zip(s as u32..).for_each(|(a, i)| *a = i);
                                first = false;
                                continue;
                            }
                            for (((o, a), &v), i) in
                                o.iter_mut().zip(a.iter_mut()).zip(row).zip(s as u32..)
                            {
                                if v > *o {
                                    *o = v;
                                    *a = i;
                                }
                            }
                        }
                    }
                }
            }
        });
    (out, arg)
}

/// The gradient of max pooling: each output gradient goes to its input's maximum.
pub fn max_pool_backward<T: Float + Send + Sync>(
    grad: &[T],
    arg: &[u32],
    g: &PoolGeometry,
) -> Vec<T> {
    let per_in = g.h * g.w * g.c;
    let per_out = g.oh * g.ow * g.c;
    let mut dx = vec![T::zero(); g.n * per_in];
    if per_in == 0 || per_out == 0 {
        return dx;
    }
    dx.par_chunks_mut(per_in)
        .zip(grad.par_chunks(per_out).zip(arg.par_chunks(per_out)))
        .for_each(|(d, (grad, arg))| {
            for (&gv, &i) in grad.iter().zip(arg) {
                d[i as usize] = d[i as usize] + gv;
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
