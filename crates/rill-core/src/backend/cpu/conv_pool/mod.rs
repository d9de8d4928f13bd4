//! A convolution with few input channels computed directly and max-pooled over 2×2 tiles in
//! the same pass: the first layer of an image network (one or three channels, a 3×3 window)
//! followed by the usual pooling.
//!
//! Through patches and a product, such a layer writes its whole output — 28×28×32 floats per
//! image in the tutorial's CNN, 6.4 MB for a batch of 64 — and reads it back to keep a quarter;
//! the patches, nine values per pixel, cost as much again. Here each pooled value's four
//! convolution outputs are summed in registers from the input itself, and only their maximum
//! and which of the four it was are written. The kernel's gradient is then summed from those
//! picks, without the full-size gradient the pooling's backward pass would spread out.

use super::isa::{isa, Isa};
use super::patches::PatchGeometry;
use rayon::prelude::*;

/// The longest patch (window height × width × input channels) the direct kernel takes: a 3×3
/// window over three channels is 27, a 5×5 one over one channel 25.
pub const MAX_DIRECT_PATCH: usize = 32;

/// Output channels are computed sixteen at a time (one AVX-512 vector, two AVX2 ones).
const LANES: usize = 16;

/// Images per partial kernel gradient. The partials are summed in a fixed order, so the result
/// does not depend on how many threads computed them.
const IMAGES_PER_PARTIAL: usize = 4;

/// Whether [`conv_max_pool_forward`] takes a convolution of geometry `g`: a patch of at most
/// [`MAX_DIRECT_PATCH`] values, an output of at least 2×2, and a CPU with AVX2 and FMA.
pub fn direct_conv_pool_applies(g: &PatchGeometry) -> bool {
    cfg!(target_arch = "x86_64")
        && isa() >= Isa::Avx2
        && (1..=MAX_DIRECT_PATCH).contains(&g.patch_len())
        && g.oh >= 2
        && g.ow >= 2
}

/// The HWIO kernel `k` (`patch_len` rows of `co`) with its columns padded with zeros to a
/// multiple of [`LANES`].
fn padded_kernel(k: &[f32], plen: usize, co: usize) -> (Vec<f32>, usize) {
    let cop = co.next_multiple_of(LANES);
    let mut w = vec![0.0; plen * cop];
    for (dst, src) in w.chunks_exact_mut(cop).zip(k.chunks_exact(co)) {
        dst[..co].copy_from_slice(src);
    }
    (w, cop)
}

/// The convolution of the NHWC batch `x` with the HWIO kernel `k` (`co` output channels,
/// geometry `g`), max-pooled over 2×2 tiles of its output (a last odd row or column left out,
/// as a valid 2×2 pool with stride 2 does): the pooled values `[n, oh/2, ow/2, co]` and, for
/// each, which of its tile's four outputs (0–3, in row order) it is.
///
/// Ties and NaN go as in `max_pool_forward`: a later output wins only when greater, so the
/// first of equal maxima is kept and a NaN first output stays.
///
/// The caller checks [`direct_conv_pool_applies`] and that `x` and `k` hold `n·h·w·c` and
/// `patch_len·co` values.
pub fn conv_max_pool_forward(
    x: &[f32],
    k: &[f32],
    g: &PatchGeometry,
    co: usize,
) -> (Vec<f32>, Vec<u8>) {
    forward_on(isa(), x, k, g, co)
}

/// [`conv_max_pool_forward`] on the vectors of `isa` (AVX2 at least, which this CPU must have).
fn forward_on(isa: Isa, x: &[f32], k: &[f32], g: &PatchGeometry, co: usize) -> (Vec<f32>, Vec<u8>) {
    let plen = g.patch_len();
    let (w, cop) = padded_kernel(k, plen, co);
    let per_out = (g.oh / 2) * (g.ow / 2) * co;
    let per_in = g.h * g.w * g.c;
    let mut out = vec![0.0; g.n * per_out];
    let mut picks = vec![0u8; g.n * per_out];
    if per_out == 0 {
        return (out, picks);
    }
    out.par_chunks_mut(per_out)
        .zip(picks.par_chunks_mut(per_out))
        .zip(x.par_chunks(per_in))
        .for_each(|((out, picks), x)| {
            let image = Image::new(x, g, &w, cop, co);
            forward(isa, &image, out, picks)
        });
    (out, picks)
}

/// The gradient of [`conv_max_pool_forward`]'s values with respect to the kernel, from the
/// pooled gradient `grad` and the forward pass's `picks`: HWIO, `patch_len × co`.
pub fn conv_max_pool_kernel_grad(
    x: &[f32],
    grad: &[f32],
    picks: &[u8],
    g: &PatchGeometry,
    co: usize,
) -> Vec<f32> {
    kernel_grad_on(isa(), x, grad, picks, g, co)
}

/// [`conv_max_pool_kernel_grad`] on the vectors of `isa` (AVX2 at least, which this CPU must
/// have).
fn kernel_grad_on(
    isa: Isa,
    x: &[f32],
    grad: &[f32],
    picks: &[u8],
    g: &PatchGeometry,
    co: usize,
) -> Vec<f32> {
    let plen = g.patch_len();
    let cop = co.next_multiple_of(LANES);
    let per_out = (g.oh / 2) * (g.ow / 2) * co;
    let per_in = g.h * g.w * g.c;
    let mut dk = vec![0.0; plen * co];
    if per_out == 0 || g.n == 0 {
        return dk;
    }
    let partials: Vec<Vec<f32>> = (0..g.n.div_ceil(IMAGES_PER_PARTIAL))
        .into_par_iter()
        .map(|part| {
            let mut dw = vec![0.0; plen * cop];
            let images = part * IMAGES_PER_PARTIAL..g.n.min((part + 1) * IMAGES_PER_PARTIAL);
            for i in images {
                let image = Image::new(&x[i * per_in..][..per_in], g, &[], cop, co);
                let (grad, picks) = (
                    &grad[i * per_out..][..per_out],
                    &picks[i * per_out..][..per_out],
                );
                kernel_grad(isa, &image, grad, picks, &mut dw);
            }
            dw
        })
        .collect();
    for dw in &partials {
        for (dst, src) in dk.chunks_exact_mut(co).zip(dw.chunks_exact(cop)) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += s;
            }
        }
    }
    dk
}

/// One image, zero-padded, and what its convolution needs.
struct Image<'a> {
    g: &'a PatchGeometry,
    /// The image with the convolution's padding made real zeros, `rows × cols × c`: every
    /// window then lies inside it, and each patch value is read at a fixed offset from its
    /// window's first cell (a third of the tutorial's tiles touch the padding, and testing every
    /// value for it took longer than the sums).
    padded: Vec<f32>,
    cols: usize,
    /// Where each of a patch's values lies in `padded`, from its window's first cell.
    rel: [usize; MAX_DIRECT_PATCH],
    /// The kernel padded to `cop` columns (empty in the backward pass).
    w: &'a [f32],
    cop: usize,
    co: usize,
}

impl<'a> Image<'a> {
    /// `x` is the image, `h × w × c`.
    fn new(x: &[f32], g: &'a PatchGeometry, w: &'a [f32], cop: usize, co: usize) -> Self {
        // The tiles cover the first 2·(oh/2) output rows and 2·(ow/2) columns.
        let rows = (2 * (g.oh / 2) - 1) * g.sh + (g.kh - 1) * g.dh + 1;
        let cols = (2 * (g.ow / 2) - 1) * g.sw + (g.kw - 1) * g.dw + 1;
        let mut padded = vec![0.0; rows * cols * g.c];
        let row_len = g.w.min(cols.saturating_sub(g.pad_left)) * g.c;
        for (y, src) in x
            .chunks_exact(g.w * g.c)
            .enumerate()
            .take(rows.saturating_sub(g.pad_top))
        {
            let at = ((y + g.pad_top) * cols + g.pad_left) * g.c;
            padded[at..at + row_len].copy_from_slice(&src[..row_len]);
        }
        let mut rel = [0; MAX_DIRECT_PATCH];
        let cells = (0..g.kh)
            .flat_map(|ki| (0..g.kw).flat_map(move |kj| (0..g.c).map(move |c| (ki, kj, c))));
        for (r, (ki, kj, c)) in rel.iter_mut().zip(cells) {
            *r = (ki * g.dh * cols + kj * g.dw) * g.c + c;
        }
        Image {
            g,
            padded,
            cols,
            rel,
            w,
            cop,
            co,
        }
    }

    /// Where the four windows of pooled position (py, px)'s tile start in `padded`, in row
    /// order: patch value `k` of window `pos` is `padded[corners[pos] + rel[k]]`.
    #[inline(always)]
    fn corners(&self, py: usize, px: usize) -> [usize; 4] {
        let g = self.g;
        let (top, left) = (2 * py * g.sh, 2 * px * g.sw);
        [0, 1, 2, 3].map(|pos| ((top + pos / 2 * g.sh) * self.cols + left + pos % 2 * g.sw) * g.c)
    }

    /// Patch value `k` of window `pos` of a tile whose windows start at `corners`.
    #[inline(always)]
    fn value(&self, corners: &[usize; 4], pos: usize, k: usize) -> f32 {
        self.padded[corners[pos] + self.rel[k]]
    }
}

/// One image's pooled outputs on the widest vectors `isa()` allows (AVX2 at least, as
/// [`direct_conv_pool_applies`] requires).
fn forward(isa: Isa, image: &Image, out: &mut [f32], picks: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY (both arms): the callers pass `isa()` or, in tests, a level the CPU reports;
        // these extensions are all the variants need.
        Isa::Avx512 => unsafe { x86::forward_avx512(image, out, picks) },
        _ => unsafe { x86::forward_avx2(image, out, picks) },
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "direct_conv_pool_applies is false off x86-64: {}",
        image.co + out.len() + picks.len()
    )
}

/// Adds one image's contribution to the padded kernel gradient `dw` (`patch_len × cop`), on
/// the widest vectors `isa()` allows: each pooled gradient goes to the output its pick names,
/// times that output's patch.
fn kernel_grad(isa: Isa, image: &Image, grad: &[f32], picks: &[u8], dw: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY (both arms): as in `forward`.
        Isa::Avx512 => unsafe { x86::kernel_grad_avx512(image, grad, picks, dw) },
        _ => unsafe { x86::kernel_grad_avx2(image, grad, picks, dw) },
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "direct_conv_pool_applies is false off x86-64: {}",
        image.co + grad.len() + picks.len() + dw.len()
    )
}

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;
