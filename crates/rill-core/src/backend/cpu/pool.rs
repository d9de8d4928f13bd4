use super::patches::PatchGeometry;
use num_traits::Float;
use rayon::prelude::*;

/// Pooling uses the same window geometry as convolution (dilation 1).
pub type PoolGeometry = PatchGeometry;

/// Max pooling over NHWC: returns the output [n, oh, ow, c] and, for each output element, the
/// flat input index of the maximum (for the gradient). Padding never wins.
pub fn max_pool_forward<T: Float + Send + Sync>(x: &[T], g: &PoolGeometry) -> (Vec<T>, Vec<usize>) {
    let per_out = g.oh * g.ow * g.c;
    let mut out = vec![T::neg_infinity(); g.n * per_out];
    let mut arg = vec![0usize; g.n * per_out];
    if per_out == 0 {
        return (out, arg);
    }
    let per_in = g.h * g.w * g.c;
    out.par_chunks_mut(per_out)
        .zip(arg.par_chunks_mut(per_out))
        .enumerate()
        .for_each(|(b, (o, a))| {
            let base = b * per_in;
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
                            let s = base + (y * g.w + xx) * g.c;
                            for ch in 0..g.c {
                                let v = x[s + ch];
                                // The first element of the window always wins, so even an all -inf
                                // window points its gradient at a real input.
                                if first || v > o[ch] {
                                    o[ch] = v;
                                    a[ch] = s + ch;
                                }
                            }
                            first = false;
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
    arg: &[usize],
    g: &PoolGeometry,
) -> Vec<T> {
    let per_in = g.h * g.w * g.c;
    let per_out = g.oh * g.ow * g.c;
    let mut dx = vec![T::zero(); g.n * per_in];
    if per_in == 0 || per_out == 0 {
        return dx;
    }
    dx.par_chunks_mut(per_in).enumerate().for_each(|(b, d)| {
        let range = b * per_out..(b + 1) * per_out;
        for (&gv, &i) in grad[range.clone()].iter().zip(&arg[range]) {
            d[i - b * per_in] = d[i - b * per_in] + gv;
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
