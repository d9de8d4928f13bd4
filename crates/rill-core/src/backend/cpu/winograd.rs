//! 3×3 convolutions with stride 1 by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray,
//! "Fast Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2×2 block of outputs comes from the 4×4 block of inputs around it: both the block and
//! the kernel are carried into a 16-point transformed space (only additions and halvings),
//! multiplied there point by point — summed over the input channels, so sixteen matrix products
//! `tiles × c_in` by `c_in × c_out` — and carried back. That is 16 multiplications per 2×2
//! outputs and channel pair where patches × kernel takes 36: 2.25 times fewer. The tutorial
//! CNN's second layer spends most of its time in such products, forward and for the input's
//! gradient (a 3×3 convolution too, with the kernel turned around).
//!
//! The transforms add rounding of their own: results differ from the product's by about one
//! part in a million.

use super::isa::{isa, Isa};
use super::matmul::{gemm, MatRef};
use super::patches::PatchGeometry;
use rayon::prelude::*;
use std::cell::RefCell;
use std::mem::MaybeUninit;

/// Fewer input or output channels than this make products too thin for the transforms to pay.
const MIN_CHANNELS: usize = 8;

/// The transformed inputs and products of one group of images take at most this much memory,
/// so that they stay in a core's L2 cache between the transforms and the products.
const GROUP_BUDGET_BYTES: usize = 1 << 20;

/// The kernel's gradient is summed in at most this many parts, each a transformed kernel.
const PARTIAL_SUMS: usize = 8;

/// At most this much memory for one image's transformed tiles and products (a thread keeps its
/// buffers between calls), and half of it for one transformed kernel (the gradient keeps
/// [`PARTIAL_SUMS`] of them, 64 MB at most): larger images and layers keep the patches, which
/// go in smaller pieces.
const MAX_WORKSPACE_BYTES: usize = 16 << 20;

/// Whether [`winograd_conv3x3`] takes a convolution of geometry `g` with `co` output channels:
/// a 3×3 window, stride and dilation 1, at least `MIN_CHANNELS` channels in and out, and
/// buffers within `MAX_WORKSPACE_BYTES`.
pub fn winograd_applies(g: &PatchGeometry, co: usize) -> bool {
    let floats = std::mem::size_of::<f32>();
    let tiles = g.oh.div_ceil(2).saturating_mul(g.ow.div_ceil(2));
    let per_image = tiles
        .saturating_mul(16 * floats)
        .saturating_mul(g.c.saturating_add(co));
    let kernel = (16 * floats).saturating_mul(g.c).saturating_mul(co);
    (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw) == (3, 3, 1, 1, 1, 1)
        && g.c >= MIN_CHANNELS
        && co >= MIN_CHANNELS
        && g.pad_top <= 2
        && g.pad_left <= 2
        && per_image <= MAX_WORKSPACE_BYTES
        && kernel <= MAX_WORKSPACE_BYTES / 2
}

/// The convolution of the NHWC batch `x` with the HWIO 3×3 kernel `k` (`co` output channels,
/// geometry `g`, which [`winograd_applies`] accepts): NHWC output `[n, oh, ow, co]`.
pub fn winograd_conv3x3(x: &[f32], k: &[f32], g: &PatchGeometry, co: usize) -> Vec<f32> {
    let u = transform_kernel(k, g.c, co);
    let images = images_per_group(g, co);
    let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * co);
    if per_out == 0 || per_in == 0 {
        return vec![0.0; g.n * per_out];
    }
    // Written once, never zero-filled first (a pass over 3 MB in the tutorial's second layer).
    let mut out: Vec<f32> = Vec::with_capacity(g.n * per_out);
    out.spare_capacity_mut()[..g.n * per_out]
        .par_chunks_mut(images * per_out)
        .zip(x.par_chunks(images * per_in))
        .for_each(|(out, x)| {
            let group = PatchGeometry {
                n: x.len() / per_in,
                ..*g
            };
            SCRATCH.with(|s| {
                let mut s = s.borrow_mut();
                convolve_group(x, &u, &group, co, out, &mut s);
            })
        });
    // SAFETY: the chunks cover all `n · per_out` slots (one group of images each, the groups
    // tiling the batch), and `transform_output` writes every output position of every image of
    // its group: each row `oy < oh` and column `ox < ow` lies in exactly one tile, which writes
    // all `co` values of both.
    unsafe { out.set_len(g.n * per_out) };
    out
}

/// The gradient of [`winograd_conv3x3`] with respect to its input, from the output's gradient
/// `grad`: the 3×3 convolution of `grad` with the kernel turned by 180° and its channels
/// swapped, padded so that every output position reaches the inputs it was computed from.
pub fn winograd_conv3x3_input_grad(
    grad: &[f32],
    k: &[f32],
    g: &PatchGeometry,
    co: usize,
) -> Vec<f32> {
    let c = g.c;
    let mut turned = vec![0.0; 9 * co * c];
    for a in 0..3 {
        for b in 0..3 {
            for i in 0..c {
                for o in 0..co {
                    turned[(((2 - a) * 3 + (2 - b)) * co + o) * c + i] =
                        k[((a * 3 + b) * c + i) * co + o];
                }
            }
        }
    }
    let back = PatchGeometry {
        n: g.n,
        h: g.oh,
        w: g.ow,
        c: co,
        pad_top: 2 - g.pad_top,
        pad_left: 2 - g.pad_left,
        oh: g.h,
        ow: g.w,
        ..*g
    };
    winograd_conv3x3(grad, &turned, &back, c)
}

/// The gradient of [`winograd_conv3x3`] with respect to its kernel, from the output's gradient
/// `grad`: HWIO, `3 × 3 × c × co`.
///
/// Taken through the same transforms: the kernel's transformed gradient is, point by point,
/// the sum over tiles of the transformed input tile times the output gradient's tile carried
/// into the transformed space (`A dY Aᵀ`) — sixteen products `c × tiles` by `tiles × co` —
/// and then carried back to 3×3 (`Gᵀ dU G`). Each group of images adds its own part, summed
/// in a fixed order, so the result does not depend on the number of threads.
pub fn winograd_conv3x3_kernel_grad(
    x: &[f32],
    grad: &[f32],
    g: &PatchGeometry,
    co: usize,
) -> Vec<f32> {
    let c = g.c;
    let images = images_per_group(g, co);
    let (per_in, per_out) = (g.h * g.w * c, g.oh * g.ow * co);
    let mut dk = vec![0.0; 9 * c * co];
    if per_out == 0 || per_in == 0 {
        return dk;
    }
    // A fixed number of partial sums, each over a fixed run of groups: memory stays at
    // `PARTIAL_SUMS` transformed kernels however large the batch, and the order of the sums
    // does not depend on the threads.
    let groups = g.n.div_ceil(images);
    let runs = PARTIAL_SUMS.min(groups);
    let per_run = groups.div_ceil(runs);
    let parts: Vec<Vec<f32>> = (0..runs)
        .into_par_iter()
        .map(|run| {
            let mut du = vec![0.0f32; 16 * c * co];
            for group in run * per_run..groups.min((run + 1) * per_run) {
                let first = group * images;
                let n = images.min(g.n - first);
                let part = PatchGeometry { n, ..*g };
                let (x, grad) = (
                    &x[first * per_in..][..n * per_in],
                    &grad[first * per_out..][..n * per_out],
                );
                SCRATCH
                    .with(|s| kernel_grad_group(x, grad, &part, co, &mut s.borrow_mut(), &mut du));
            }
            du
        })
        .collect();
    let mut du = vec![0.0f32; 16 * c * co];
    for part in &parts {
        for (d, &p) in du.iter_mut().zip(part) {
            *d += p;
        }
    }
    // Gᵀ dU G: rows dU0 + (dU1 + dU2)/2, (dU1 − dU2)/2, (dU1 + dU2)/2 + dU3; then on columns.
    let back = |e: [f32; 4]| {
        [
            e[0] + 0.5 * (e[1] + e[2]),
            0.5 * (e[1] - e[2]),
            0.5 * (e[1] + e[2]) + e[3],
        ]
    };
    for i in 0..c {
        for o in 0..co {
            let point = |r: usize, q: usize| du[((4 * r + q) * c + i) * co + o];
            let rows: [[f32; 3]; 4] =
                std::array::from_fn(|r| back([point(r, 0), point(r, 1), point(r, 2), point(r, 3)]));
            for b in 0..3 {
                let column = back([rows[0][b], rows[1][b], rows[2][b], rows[3][b]]);
                for (a, &value) in column.iter().enumerate() {
                    dk[((a * 3 + b) * c + i) * co + o] = value;
                }
            }
        }
    }
    dk
}

/// Adds one group of images' part of the kernel's transformed gradient to `du`, `16 × c × co`.
#[inline(always)]
fn kernel_grad_group_portable(
    x: &[f32],
    grad: &[f32],
    g: &PatchGeometry,
    co: usize,
    s: &mut Scratch,
    du: &mut [f32],
) {
    let c = g.c;
    let tiles = g.n * g.oh.div_ceil(2) * g.ow.div_ceil(2);
    s.v.resize(16 * tiles * c, 0.0);
    s.m.resize(16 * tiles * co, 0.0);
    s.zeros.resize(c.max(co), 0.0);
    s.rows.resize(16 * c.max(co), 0.0);
    transform_input(x, g, s);
    let mut m = std::mem::take(&mut s.m);
    transform_output_grad(grad, g, co, &mut m, s);
    s.m = m;
    for point in 0..16 {
        // Vᵀ, read across the stored V.
        let vt = MatRef {
            data: &s.v[point * tiles * c..][..tiles * c],
            offset: 0,
            row_stride: 1,
            col_stride: c,
        };
        let dm = MatRef {
            data: &s.m[point * tiles * co..][..tiles * co],
            offset: 0,
            row_stride: co,
            col_stride: 1,
        };
        gemm(
            c,
            co,
            tiles,
            vt,
            dm,
            &mut du[point * c * co..][..c * co],
            true,
        );
    }
}

/// `A dY Aᵀ` for every tile's 2×2 output gradient `dY` (zeros past the output's edge): each of
/// its sixteen points a row of `co` values in its own matrix of `m`.
#[inline(always)]
fn transform_output_grad(
    grad: &[f32],
    g: &PatchGeometry,
    co: usize,
    m: &mut [f32],
    s: &mut Scratch,
) {
    let (th, tw) = (g.oh.div_ceil(2), g.ow.div_ceil(2));
    let tiles = g.n * th * tw;
    let Scratch { zeros, rows, .. } = s;
    let zeros = &zeros[..co];
    for image in 0..g.n {
        let grad = &grad[image * g.oh * g.ow * co..][..g.oh * g.ow * co];
        for ty in 0..th {
            for tx in 0..tw {
                let tile = (image * th + ty) * tw + tx;
                let dy = |a: usize, b: usize| {
                    let (oy, ox) = (2 * ty + a, 2 * tx + b);
                    if oy < g.oh && ox < g.ow {
                        &grad[(oy * g.ow + ox) * co..][..co]
                    } else {
                        zeros
                    }
                };
                // A dY: rows dy0, dy0 + dy1, dy0 − dy1, −dy1, two points each.
                for b in 0..2 {
                    let (d0, d1) = (dy(0, b), dy(1, b));
                    combine(&mut rows[b * co..][..co], d0, zeros, 1.0);
                    combine(&mut rows[(2 + b) * co..][..co], d0, d1, 1.0);
                    combine(&mut rows[(4 + b) * co..][..co], d0, d1, -1.0);
                    combine(&mut rows[(6 + b) * co..][..co], zeros, d1, -1.0);
                }
                // (A dY) Aᵀ: each row's (e0, e1) to e0, e0 + e1, e0 − e1, −e1.
                for r in 0..4 {
                    let (e0, e1) = (&rows[2 * r * co..][..co], &rows[(2 * r + 1) * co..][..co]);
                    let at = |q: usize| ((4 * r + q) * tiles + tile) * co;
                    combine(&mut m[at(0)..][..co], e0, zeros, 1.0);
                    combine(&mut m[at(1)..][..co], e0, e1, 1.0);
                    combine(&mut m[at(2)..][..co], e0, e1, -1.0);
                    combine(&mut m[at(3)..][..co], zeros, e1, -1.0);
                }
            }
        }
    }
}

/// Images per group: their transformed inputs and products within [`GROUP_BUDGET_BYTES`].
fn images_per_group(g: &PatchGeometry, co: usize) -> usize {
    let tiles = g.oh.div_ceil(2) * g.ow.div_ceil(2);
    let per_image = 16 * tiles * (g.c + co) * std::mem::size_of::<f32>();
    (GROUP_BUDGET_BYTES / per_image.max(1)).clamp(1, g.n.max(1))
}

/// [`convolve_group_portable`] compiled for the widest vectors `isa()` allows: the transforms
/// are loops of additions over the channels, which the compiler vectorises with what it may use.
fn convolve_group(
    x: &[f32],
    u: &[f32],
    g: &PatchGeometry,
    co: usize,
    out: &mut [MaybeUninit<f32>],
    s: &mut Scratch,
) {
    #[cfg(target_arch = "x86_64")]
    match isa() {
        // SAFETY (both arms): `isa()` reported the extensions these variants are compiled for.
        Isa::Avx512 => return unsafe { convolve_group_avx512(x, u, g, co, out, s) },
        Isa::Avx2 => return unsafe { convolve_group_avx2(x, u, g, co, out, s) },
        Isa::Baseline => {}
    }
    convolve_group_portable(x, u, g, co, out, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn convolve_group_avx512(
    x: &[f32],
    u: &[f32],
    g: &PatchGeometry,
    co: usize,
    out: &mut [MaybeUninit<f32>],
    s: &mut Scratch,
) {
    convolve_group_portable(x, u, g, co, out, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convolve_group_avx2(
    x: &[f32],
    u: &[f32],
    g: &PatchGeometry,
    co: usize,
    out: &mut [MaybeUninit<f32>],
    s: &mut Scratch,
) {
    convolve_group_portable(x, u, g, co, out, s)
}

/// [`kernel_grad_group_portable`] on the widest vectors `isa()` allows.
fn kernel_grad_group(
    x: &[f32],
    grad: &[f32],
    g: &PatchGeometry,
    co: usize,
    s: &mut Scratch,
    du: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    match isa() {
        // SAFETY (both arms): as in `convolve_group`.
        Isa::Avx512 => return unsafe { kernel_grad_group_avx512(x, grad, g, co, s, du) },
        Isa::Avx2 => return unsafe { kernel_grad_group_avx2(x, grad, g, co, s, du) },
        Isa::Baseline => {}
    }
    kernel_grad_group_portable(x, grad, g, co, s, du)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_grad_group_avx512(
    x: &[f32],
    grad: &[f32],
    g: &PatchGeometry,
    co: usize,
    s: &mut Scratch,
    du: &mut [f32],
) {
    kernel_grad_group_portable(x, grad, g, co, s, du)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_grad_group_avx2(
    x: &[f32],
    grad: &[f32],
    g: &PatchGeometry,
    co: usize,
    s: &mut Scratch,
    du: &mut [f32],
) {
    kernel_grad_group_portable(x, grad, g, co, s, du)
}

thread_local! {
    /// Each thread's transformed inputs and products, kept between calls: filling fresh
    /// buffers with zeros would cost a pass over them per group.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    /// The transformed input tiles: 16 matrices of `tiles × c`.
    v: Vec<f32>,
    /// Their products with the transformed kernel: 16 matrices of `tiles × co`.
    m: Vec<f32>,
    /// `c` zeros, the points of a block outside the image.
    zeros: Vec<f32>,
    /// A block's rows after the first half of a transform (of the input, the output or the
    /// output gradient), `c` or `co` values per point.
    rows: Vec<f32>,
}

/// `U = G g Gᵀ` for every input and output channel: 16 matrices of `c × co`, point `4i + j`
/// of the transformed kernel at `[(4i + j) · c · co ..]`.
fn transform_kernel(k: &[f32], c: usize, co: usize) -> Vec<f32> {
    let mut u = vec![0.0; 16 * c * co];
    let tap = |a: usize, b: usize, i: usize, o: usize| k[((a * 3 + b) * c + i) * co + o];
    for i in 0..c {
        for o in 0..co {
            // G g: the rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2; then the same on columns.
            let column = |b: usize| {
                let (g0, g1, g2) = (tap(0, b, i, o), tap(1, b, i, o), tap(2, b, i, o));
                [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2]
            };
            let columns = [column(0), column(1), column(2)];
            let t: [[f32; 3]; 4] = std::array::from_fn(|r| columns.map(|col| col[r]));
            for (r, t) in t.iter().enumerate() {
                let row = [
                    t[0],
                    0.5 * (t[0] + t[1] + t[2]),
                    0.5 * (t[0] - t[1] + t[2]),
                    t[2],
                ];
                for (s, &value) in row.iter().enumerate() {
                    u[((4 * r + s) * c + i) * co + o] = value;
                }
            }
        }
    }
    u
}

/// One group of images: transform every tile, sixteen products, transform back into `out`.
#[inline(always)]
fn convolve_group_portable(
    x: &[f32],
    u: &[f32],
    g: &PatchGeometry,
    co: usize,
    out: &mut [MaybeUninit<f32>],
    s: &mut Scratch,
) {
    let c = g.c;
    let tiles = g.n * g.oh.div_ceil(2) * g.ow.div_ceil(2);
    s.v.resize(16 * tiles * c, 0.0);
    s.m.resize(16 * tiles * co, 0.0);
    s.zeros.resize(c, 0.0);
    s.rows.resize(16 * c, 0.0);
    transform_input(x, g, s);
    for point in 0..16 {
        let v = MatRef {
            data: &s.v[point * tiles * c..][..tiles * c],
            offset: 0,
            row_stride: c,
            col_stride: 1,
        };
        let u = MatRef {
            data: &u[point * c * co..][..c * co],
            offset: 0,
            row_stride: co,
            col_stride: 1,
        };
        gemm(
            tiles,
            co,
            c,
            v,
            u,
            &mut s.m[point * tiles * co..][..tiles * co],
            false,
        );
    }
    transform_output(&s.m, g, co, out, &mut s.rows);
}

/// `V = Bᵀ d B` for every 4×4 block `d` of inputs (zeros outside the image), each of its
/// sixteen points a row of `c` values in its own matrix.
#[inline(always)]
fn transform_input(x: &[f32], g: &PatchGeometry, s: &mut Scratch) {
    let c = g.c;
    let (th, tw) = (g.oh.div_ceil(2), g.ow.div_ceil(2));
    let tiles = g.n * th * tw;
    let Scratch { v, zeros, rows, .. } = s;
    for image in 0..g.n {
        let x = &x[image * g.h * g.w * c..][..g.h * g.w * c];
        for ty in 0..th {
            for tx in 0..tw {
                let tile = (image * th + ty) * tw + tx;
                // Point (r, q) of the 4×4 block of inputs: its `c` values, or zeros outside.
                let block = |r: usize, q: usize| -> &[f32] {
                    let y = (2 * ty + r).checked_sub(g.pad_top).filter(|&y| y < g.h);
                    let xx = (2 * tx + q).checked_sub(g.pad_left).filter(|&xx| xx < g.w);
                    match (y, xx) {
                        (Some(y), Some(xx)) => &x[(y * g.w + xx) * c..][..c],
                        _ => &zeros[..c],
                    }
                };
                // Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3.
                for q in 0..4 {
                    let point = |r: usize| block(r, q);
                    combine(&mut rows[q * c..][..c], point(0), point(2), -1.0);
                    combine(&mut rows[(4 + q) * c..][..c], point(1), point(2), 1.0);
                    combine(&mut rows[(8 + q) * c..][..c], point(2), point(1), -1.0);
                    combine(&mut rows[(12 + q) * c..][..c], point(1), point(3), -1.0);
                }
                // (Bᵀ d) B: the same on each row's columns.
                for r in 0..4 {
                    let col = |q: usize| &rows[(4 * r + q) * c..][..c];
                    let at = |q: usize| ((4 * r + q) * tiles + tile) * c;
                    combine(&mut v[at(0)..][..c], col(0), col(2), -1.0);
                    combine(&mut v[at(1)..][..c], col(1), col(2), 1.0);
                    combine(&mut v[at(2)..][..c], col(2), col(1), -1.0);
                    combine(&mut v[at(3)..][..c], col(1), col(3), -1.0);
                }
            }
        }
    }
}

/// `out = a + sign · b`, elementwise.
#[inline(always)]
fn combine(out: &mut [f32], a: &[f32], b: &[f32], sign: f32) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = a + sign * b;
    }
}

/// `Y = Aᵀ M A` for every tile: its 2×2 outputs (those inside the output) into `out`.
#[inline(always)]
fn transform_output(
    m: &[f32],
    g: &PatchGeometry,
    co: usize,
    out: &mut [MaybeUninit<f32>],
    rows: &mut Vec<f32>,
) {
    let (th, tw) = (g.oh.div_ceil(2), g.ow.div_ceil(2));
    let tiles = g.n * th * tw;
    rows.resize(8 * co, 0.0);
    for image in 0..g.n {
        let out = &mut out[image * g.oh * g.ow * co..][..g.oh * g.ow * co];
        for ty in 0..th {
            for tx in 0..tw {
                let tile = (image * th + ty) * tw + tx;
                let point = |r: usize, q: usize| &m[((4 * r + q) * tiles + tile) * co..][..co];
                // Aᵀ M: rows m0 + m1 + m2 and m1 − m2 − m3.
                for q in 0..4 {
                    let (m0, m1, m2, m3) = (point(0, q), point(1, q), point(2, q), point(3, q));
                    let (top, bottom) = rows.split_at_mut(4 * co);
                    for (((((t, b), &a0), &a1), &a2), &a3) in top[q * co..][..co]
                        .iter_mut()
                        .zip(&mut bottom[q * co..][..co])
                        .zip(m0)
                        .zip(m1)
                        .zip(m2)
                        .zip(m3)
                    {
                        *t = a0 + a1 + a2;
                        *b = a1 - a2 - a3;
                    }
                }
                // (Aᵀ M) A: the same on each row's columns.
                for r in 0..2 {
                    let oy = 2 * ty + r;
                    if oy >= g.oh {
                        continue;
                    }
                    let col = |q: usize| &rows[(4 * r + q) * co..][..co];
                    let (c0, c1, c2, c3) = (col(0), col(1), col(2), col(3));
                    let ox = 2 * tx;
                    let left = &mut out[(oy * g.ow + ox) * co..][..co];
                    for (((o, &a0), &a1), &a2) in left.iter_mut().zip(c0).zip(c1).zip(c2) {
                        o.write(a0 + a1 + a2);
                    }
                    if ox + 1 < g.ow {
                        let right = &mut out[(oy * g.ow + ox + 1) * co..][..co];
                        for (((o, &a1), &a2), &a3) in right.iter_mut().zip(c1).zip(c2).zip(c3) {
                            o.write(a1 - a2 - a3);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(h: usize, w: usize, c: usize, pad: usize) -> PatchGeometry {
        PatchGeometry {
            n: 64,
            h,
            w,
            c,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            dh: 1,
            dw: 1,
            pad_top: pad,
            pad_left: pad,
            oh: h + 2 * pad - 2,
            ow: w + 2 * pad - 2,
        }
    }

    /// The tutorial's second layer and a ResNet stage take the transforms; a layer whose
    /// buffers would be too large, or too thin or strided, keeps the patches.
    #[test]
    fn which_convolutions_take_the_transforms() {
        assert!(winograd_applies(&geometry(14, 14, 32, 1), 64));
        assert!(winograd_applies(&geometry(28, 28, 256, 1), 256));
        // 224×224×64 → 64: 102 MB of transformed tiles for one image.
        assert!(!winograd_applies(&geometry(224, 224, 64, 1), 64));
        // 512 → 512 channels: a transformed kernel of 16 MB.
        assert!(!winograd_applies(&geometry(7, 7, 512, 1), 512));
        assert!(!winograd_applies(&geometry(14, 14, 4, 1), 64));
        let strided = PatchGeometry {
            sh: 2,
            ..geometry(14, 14, 32, 1)
        };
        assert!(!winograd_applies(&strided, 64));
    }
}
