//! The kernels, written with intrinsics: left to the compiler, the sums over sixteen channels
//! stayed scalar (4.9 ms for the tutorial's first layer at batch 64, against 1.4 ms for the
//! patches, product and pooling they replace).
//!
//! Every load and store goes through a slice of exactly the vector's length, so bounds are
//! checked as for any slice; the functions are `unsafe` only for their target features.

use super::{Image, LANES};
use std::arch::x86_64::*;

/// Runs `$body` for every pooled position of `$image`, with `$at` its first output value and
/// `$corners` its tile's four windows (see `Image::corners`): a macro rather than a function
/// taking a closure, because a closure would not be compiled with the caller's vector
/// extensions.
macro_rules! each_tile {
    ($image:expr, |$at:ident, $corners:ident| $body:expr) => {{
        let g = $image.g;
        let (ph, pw) = (g.oh / 2, g.ow / 2);
        for py in 0..ph {
            for px in 0..pw {
                let $at = (py * pw + px) * $image.co;
                let $corners = $image.corners(py, px);
                $body;
            }
        }
    }};
}

/// Sixteen values of `s` from `at`, as a vector.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load16(s: &[f32], at: usize) -> __m512 {
    _mm512_loadu_ps(s[at..at + 16].as_ptr())
}

/// Eight values of `s` from `at`, as a vector.
#[inline]
#[target_feature(enable = "avx")]
unsafe fn load8(s: &[f32], at: usize) -> __m256 {
    _mm256_loadu_ps(s[at..at + 8].as_ptr())
}

/// Writes the first `valid` lanes of a block's maxima and picks at `at`.
#[inline(always)]
fn store_block(
    out: &mut [f32],
    picks: &mut [u8],
    at: usize,
    best: &[f32; LANES],
    pick: &[i32; LANES],
    valid: usize,
) {
    for (d, &b) in out[at..at + valid].iter_mut().zip(best) {
        *d = b;
    }
    for (d, &p) in picks[at..at + valid].iter_mut().zip(pick) {
        *d = p as u8;
    }
}

#[target_feature(enable = "avx512f,fma")]
pub(super) unsafe fn forward_avx512(image: &Image, out: &mut [f32], picks: &mut [u8]) {
    each_tile!(image, |at, corners| tile512(image, at, out, picks, corners));
}

/// One tile's pooled outputs, all channels, from its windows at `corners`: two
/// blocks of sixteen channels at a time, so that eight sums are in flight (a fused
/// multiply-add takes four cycles, and each sum waits for its previous one).
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn tile512(
    image: &Image,
    at: usize,
    out: &mut [f32],
    picks: &mut [u8],
    corners: [usize; 4],
) {
    let (plen, cop, co, w) = (image.g.patch_len(), image.cop, image.co, image.w);
    let mut first = 0;
    while first < cop {
        let pair = first + 2 * LANES <= cop;
        let mut acc = [[_mm512_setzero_ps(); 4]; 2];
        for k in 0..plen {
            let v = [
                image.value(&corners, 0, k),
                image.value(&corners, 1, k),
                image.value(&corners, 2, k),
                image.value(&corners, 3, k),
            ];
            let w0 = load16(w, k * cop + first);
            for (a, &v) in acc[0].iter_mut().zip(&v) {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(v), w0, *a);
            }
            if pair {
                let w1 = load16(w, k * cop + first + LANES);
                for (a, &v) in acc[1].iter_mut().zip(&v) {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(v), w1, *a);
                }
            }
        }
        for acc in &acc[..1 + pair as usize] {
            pool512(acc, out, picks, at + first, LANES.min(co - first));
            first += LANES;
        }
    }
}

/// The maximum of a block's four sums and which it was, written for its `valid` channels.
/// In row order, a later sum wins only when greater (an ordered compare: a NaN never wins,
/// and a NaN first sum stays).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn pool512(acc: &[__m512; 4], out: &mut [f32], picks: &mut [u8], at: usize, valid: usize) {
    let (mut b, mut p) = (acc[0], _mm512_setzero_ps());
    for (pos, &a) in acc.iter().enumerate().skip(1) {
        let greater = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b);
        b = _mm512_mask_blend_ps(greater, b, a);
        p = _mm512_mask_blend_ps(greater, p, _mm512_set1_ps(pos as f32));
    }
    let (mut best, mut pick) = ([0.0f32; LANES], [0i32; LANES]);
    _mm512_storeu_ps(best.as_mut_ptr(), b);
    _mm512_storeu_si512(pick.as_mut_ptr().cast(), _mm512_cvttps_epi32(p));
    store_block(out, picks, at, &best, &pick, valid);
}

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn forward_avx2(image: &Image, out: &mut [f32], picks: &mut [u8]) {
    each_tile!(image, |at, corners| tile256(image, at, out, picks, corners));
}

/// [`tile512`] on AVX2: one block of sixteen channels (two vectors) at a time, eight sums.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile256(
    image: &Image,
    at: usize,
    out: &mut [f32],
    picks: &mut [u8],
    corners: [usize; 4],
) {
    let (plen, cop, co, w) = (image.g.patch_len(), image.cop, image.co, image.w);
    let (mut best, mut pick) = ([0.0f32; LANES], [0i32; LANES]);
    for first in (0..cop).step_by(LANES) {
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        for k in 0..plen {
            let w = [load8(w, k * cop + first), load8(w, k * cop + first + 8)];
            for (pos, a) in acc.iter_mut().enumerate() {
                let v = _mm256_set1_ps(image.value(&corners, pos, k));
                a[0] = _mm256_fmadd_ps(v, w[0], a[0]);
                a[1] = _mm256_fmadd_ps(v, w[1], a[1]);
            }
        }
        for half in 0..2 {
            let (mut b, mut p) = (acc[0][half], _mm256_setzero_ps());
            for (pos, a) in acc.iter().enumerate().skip(1) {
                let greater = _mm256_cmp_ps::<_CMP_GT_OQ>(a[half], b);
                b = _mm256_blendv_ps(b, a[half], greater);
                p = _mm256_blendv_ps(p, _mm256_set1_ps(pos as f32), greater);
            }
            _mm256_storeu_ps(best[half * 8..half * 8 + 8].as_mut_ptr(), b);
            let p = _mm256_cvttps_epi32(p);
            _mm256_storeu_si256(pick[half * 8..half * 8 + 8].as_mut_ptr().cast(), p);
        }
        store_block(out, picks, at + first, &best, &pick, LANES.min(co - first));
    }
}

/// A block's pooled gradient and picks, sixteen lanes (zeros, and picks no output has,
/// past the `valid` ones).
#[inline(always)]
fn gradient_block(
    grad: &[f32],
    picks: &[u8],
    at: usize,
    valid: usize,
) -> ([f32; LANES], [f32; LANES]) {
    let (mut gv, mut pk) = ([0.0f32; LANES], [-1.0f32; LANES]);
    gv[..valid].copy_from_slice(&grad[at..at + valid]);
    for (p, &s) in pk.iter_mut().zip(&picks[at..at + valid]) {
        *p = s as f32;
    }
    (gv, pk)
}

#[target_feature(enable = "avx512f,fma")]
pub(super) unsafe fn kernel_grad_avx512(image: &Image, grad: &[f32], picks: &[u8], dw: &mut [f32]) {
    each_tile!(image, |at, corners| grad512(
        image, at, grad, picks, dw, corners
    ));
}

/// One tile's share of the kernel gradient: each channel's pooled gradient, at the output
/// its pick names, times that output's patch.
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn grad512(
    image: &Image,
    at: usize,
    grad: &[f32],
    picks: &[u8],
    dw: &mut [f32],
    corners: [usize; 4],
) {
    let (plen, cop, co) = (image.g.patch_len(), image.cop, image.co);
    for first in (0..cop).step_by(LANES) {
        let (gv, pk) = gradient_block(grad, picks, at + first, LANES.min(co - first));
        let (gv, pk) = (load16(&gv, 0), load16(&pk, 0));
        // The gradient as it reaches each of the four outputs: where it was picked.
        let mut spread = [_mm512_setzero_ps(); 4];
        for (pos, s) in spread.iter_mut().enumerate() {
            let here = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(pk, _mm512_set1_ps(pos as f32));
            *s = _mm512_maskz_mov_ps(here, gv);
        }
        for k in 0..plen {
            let row = &mut dw[k * cop + first..k * cop + first + LANES];
            let mut d = _mm512_loadu_ps(row.as_ptr());
            for (pos, s) in spread.iter().enumerate() {
                d = _mm512_fmadd_ps(_mm512_set1_ps(image.value(&corners, pos, k)), *s, d);
            }
            _mm512_storeu_ps(row.as_mut_ptr(), d);
        }
    }
}

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn kernel_grad_avx2(image: &Image, grad: &[f32], picks: &[u8], dw: &mut [f32]) {
    each_tile!(image, |at, corners| grad256(
        image, at, grad, picks, dw, corners
    ));
}

/// [`grad512`] on AVX2.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn grad256(
    image: &Image,
    at: usize,
    grad: &[f32],
    picks: &[u8],
    dw: &mut [f32],
    corners: [usize; 4],
) {
    let (plen, cop, co) = (image.g.patch_len(), image.cop, image.co);
    for first in (0..cop).step_by(LANES) {
        let (gv, pk) = gradient_block(grad, picks, at + first, LANES.min(co - first));
        for half in 0..2 {
            let (gv, pk) = (load8(&gv, half * 8), load8(&pk, half * 8));
            let mut spread = [_mm256_setzero_ps(); 4];
            for (pos, s) in spread.iter_mut().enumerate() {
                let here = _mm256_cmp_ps::<_CMP_EQ_OQ>(pk, _mm256_set1_ps(pos as f32));
                *s = _mm256_and_ps(here, gv);
            }
            for k in 0..plen {
                let start = k * cop + first + half * 8;
                let row = &mut dw[start..start + 8];
                let mut d = _mm256_loadu_ps(row.as_ptr());
                for (pos, s) in spread.iter().enumerate() {
                    d = _mm256_fmadd_ps(_mm256_set1_ps(image.value(&corners, pos, k)), *s, d);
                }
                _mm256_storeu_ps(row.as_mut_ptr(), d);
            }
        }
    }
}
