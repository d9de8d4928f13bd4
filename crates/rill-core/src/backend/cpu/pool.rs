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
    if is_two_by_two_tiling(g) {
        return max_pool_forward_2x2(x, g);
    }
    max_pool_forward_any(x, g)
}

/// [`max_pool_forward`] for any window, stride, dilation and padding.
fn max_pool_forward_any<T: Float + Send + Sync>(x: &[T], g: &PoolGeometry) -> Vec<T> {
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

/// Whether `g` is the usual 2×2 pool with stride 2 and no padding: windows that tile the input
/// without overlap, each two cells of two rows, which the `_2x2` kernels walk directly.
fn is_two_by_two_tiling(g: &PoolGeometry) -> bool {
    (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw) == (2, 2, 2, 2, 1, 1)
        && g.pad_top == 0
        && g.pad_left == 0
        && g.oh == g.h / 2
        && g.ow == g.w / 2
}

/// [`max_pool_forward`] for a 2×2 tiling: each output row from two input rows, each output
/// value from four cells compared in one loop over the channels (one vector loop, where the
/// general path walks a window iterator per output position).
fn max_pool_forward_2x2<T: Float + Send + Sync>(x: &[T], g: &PoolGeometry) -> Vec<T> {
    let (c, row) = (g.c, g.w * g.c);
    let (per_in, per_out) = (g.h * row, g.oh * g.ow * c);
    let mut out: Vec<T> = Vec::with_capacity(g.n * per_out);
    if per_out == 0 {
        return out;
    }
    out.spare_capacity_mut()[..g.n * per_out]
        .par_chunks_mut(per_out)
        .zip(x.par_chunks(per_in))
        .for_each(|(o, x)| {
            for (o, rows) in o.chunks_exact_mut(g.ow * c).zip(x.chunks_exact(2 * row)) {
                let (top, bottom) = rows.split_at(row);
                let windows = top.chunks_exact(2 * c).zip(bottom.chunks_exact(2 * c));
                for (o, (top, bottom)) in o.chunks_exact_mut(c).zip(windows) {
                    let (a, b) = top.split_at(c);
                    let (d, e) = bottom.split_at(c);
                    // In row order, a later cell wins only when greater: the first real input
                    // is kept on ties and a NaN first cell stays, as in the general path.
                    let cells = a.iter().zip(b).zip(d.iter().zip(e));
                    for (o, ((&a, &b), (&d, &e))) in o.iter_mut().zip(cells) {
                        let m = if b > a { b } else { a };
                        let m = if d > m { d } else { m };
                        o.write(if e > m { e } else { m });
                    }
                }
            }
        });
    // SAFETY: `out` has capacity `n * per_out`; the chunks tile those slots, one image each;
    // within one, `oh` rows of `ow * c` (`oh = h / 2` rows of pairs of input rows exist) are
    // each tiled by `ow` outputs of `c` (`ow = w / 2` windows of `2c` exist in an input row),
    // and the innermost loop writes all `c` values of each output.
    unsafe { out.set_len(g.n * per_out) };
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
    if per_in == 0 || per_out == 0 {
        return vec![T::zero(); g.n * per_in];
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
    if unpadded && g.dh == 1 && g.dw == 1 && g.sh == g.kh && g.sw == g.kw {
        return max_pool_backward_tiled(grad, x, out, g, &rel);
    }
    max_pool_backward_scatter(grad, x, out, g, &rel, unpadded)
}

/// Which cell of a window each channel's gradient goes to: the first cell (in row order) whose
/// input equals the output, as [`max_pool_forward`] kept it. `cells` are the window's input
/// offsets. Walking the window backwards, the last match kept is the first in row order; a NaN
/// maximum matches nothing and stays with the first cell, as in the forward pass.
fn pick_cells<T: Float>(
    x: &[T],
    out: &[T],
    cells: impl DoubleEndedIterator<Item = (usize, usize)>,
    pick: &mut [u32],
) {
    pick.fill(0);
    for (k, s) in cells.rev() {
        let k = k as u32;
        for ((p, &v), &m) in pick.iter_mut().zip(&x[s..s + out.len()]).zip(out) {
            *p = if v == m { k } else { *p };
        }
    }
}

/// The gradient of max pooling whose windows tile the input without overlap or padding (the
/// usual 2×2 pool with stride 2): every input cell lies in at most one window, so each element
/// of the result is written once — the gradient or a zero — with no zero-fill beforehand and no
/// scatter afterwards.
fn max_pool_backward_tiled<T: Float + Send + Sync>(
    grad: &[T],
    x: &[T],
    out: &[T],
    g: &PoolGeometry,
    rel: &[usize],
) -> Vec<T> {
    let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    let mut dx: Vec<T> = Vec::with_capacity(g.n * per_in);
    dx.spare_capacity_mut()[..g.n * per_in]
        .par_chunks_mut(per_in)
        .zip(x.par_chunks(per_in))
        .zip(grad.par_chunks(per_out).zip(out.par_chunks(per_out)))
        .for_each(|((d, x), (grad, out))| {
            let mut pick = vec![0u32; g.c];
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let at = (oy * g.ow + ox) * g.c;
                    let (grad, out) = (&grad[at..at + g.c], &out[at..at + g.c]);
                    let base = (oy * g.sh * g.w + ox * g.sw) * g.c;
                    pick_cells(x, out, rel.iter().map(|r| base + r).enumerate(), &mut pick);
                    for (k, r) in rel.iter().enumerate() {
                        let k = k as u32;
                        let cell = &mut d[base + r..base + r + g.c];
                        for ((d, &p), &gv) in cell.iter_mut().zip(&pick).zip(grad) {
                            d.write(if p == k { gv } else { T::zero() });
                        }
                    }
                }
            }
            // Rows and columns past the last whole window belong to none: their gradient is 0.
            for y in 0..g.h {
                let first_x = if y < g.oh * g.kh { g.ow * g.kw } else { 0 };
                for cell in &mut d[(y * g.w + first_x) * g.c..(y + 1) * g.w * g.c] {
                    cell.write(T::zero());
                }
            }
        });
    // SAFETY: the chunks tile all `n * per_in` slots; in each image, the windows (oh·kh rows by
    // ow·kw columns, non-overlapping because stride = window and dilation = 1, inside the input
    // because `unpadded`) write every cell they cover, and the last loop writes every cell to
    // the right of them and every row below them, so each slot is written.
    unsafe { dx.set_len(g.n * per_in) };
    dx
}

/// The gradient of max pooling in general (overlapping or padded windows): zeros, then each
/// output's gradient added at its picked cell.
fn max_pool_backward_scatter<T: Float + Send + Sync>(
    grad: &[T],
    x: &[T],
    out: &[T],
    g: &PoolGeometry,
    rel: &[usize],
    unpadded: bool,
) -> Vec<T> {
    let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    let mut dx = vec![T::zero(); g.n * per_in];
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
                    pick_cells(x, out, cells.iter().copied().enumerate(), &mut pick);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool over `n`×`h`×`w`×`c` with a `k`×`k` window and stride `k`, no padding.
    fn tiling(n: usize, h: usize, w: usize, c: usize, kh: usize, kw: usize) -> PoolGeometry {
        PoolGeometry {
            n,
            h,
            w,
            c,
            kh,
            kw,
            sh: kh,
            sw: kw,
            dh: 1,
            dw: 1,
            pad_top: 0,
            pad_left: 0,
            oh: h / kh,
            ow: w / kw,
        }
    }

    #[test]
    fn tiled_kernels_match_the_general_paths_with_ties_nans_and_uncovered_edges() {
        for (n, h, w, c, kh, kw) in [
            (2, 5, 5, 3, 2, 2),
            (3, 28, 28, 32, 2, 2),
            (1, 7, 9, 5, 3, 3),
            (2, 6, 5, 17, 2, 1),
            (1, 4, 4, 1, 4, 4),
        ] {
            let g = tiling(n, h, w, c, kh, kw);
            // Few distinct values, so windows hold ties; a NaN and an infinity among them.
            let mut x: Vec<f32> = (0..n * h * w * c)
                .map(|i| ((i as u64 * 2_654_435_761) >> 13) as f32 % 3.0)
                .collect();
            x[1] = f32::NAN;
            x[c + 2] = f32::NEG_INFINITY;
            // A NaN behind a real first cell (the first window's second cell, channel 0).
            if kw > 1 {
                x[c] = f32::NAN;
            }
            let out = max_pool_forward_any(&x, &g);
            assert_eq!(
                max_pool_forward(&x, &g)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            let grad: Vec<f32> = (0..out.len()).map(|i| 1.0 + i as f32).collect();
            let rel: Vec<usize> = (0..kh)
                .flat_map(|ki| (0..kw).map(move |kj| (ki * w + kj) * c))
                .collect();
            let tiled = max_pool_backward_tiled(&grad, &x, &out, &g, &rel);
            let scatter = max_pool_backward_scatter(&grad, &x, &out, &g, &rel, true);
            assert_eq!(tiled, scatter, "{n}x{h}x{w}x{c} window {kh}x{kw}");
            assert_eq!(max_pool_backward(&grad, &x, &out, &g), tiled);
        }
    }
}
