//! Products with few rows in `A` (a batch of 32 or 64 through a dense layer) or a short inner
//! dimension (that layer's weight gradient, k = the batch), on two cores.
//!
//! These products take 50–150 µs: handing them to the general kernels' threads (from `fit`'s
//! loop, outside the pool) cost more than it saved, so they ran on one core. Here a 6×16 register
//! tile reads `B`'s rows where they lie, without packing (a block of sixteen columns, cut into
//! 256-step slices of 16 KB, stays in the L1 cache while every block of six rows of `A` passes
//! it), which lets the product be cut cheaply — into two halves of its depth, blocks of rows or
//! blocks of sixteen columns, chosen so that each core keeps to one half of a weight matrix (see
//! [`SPLIT_DEPTH_MIN`]) — that this thread and the helper thread claim one by one
//! ([`share_chunks`]). On one core the tile is about as fast as the general kernels at these
//! sizes.

mod kernel;

use super::isa::{isa, Isa};
use super::parallel::share_chunks;
use super::MatRef;
use kernel::{Tile, TILE_COLS, TILE_ROWS};
use std::mem::MaybeUninit;

/// Products with at most this many rows, or at most this deep, skip packing; beyond both,
/// `A` and `B` are reused often enough that the general kernels' packed panels pay.
const SMALL_SIDE: usize = 64;

/// `A` is read again for every block of sixteen columns, so it must stay in the L2 cache: beyond
/// this many elements (256 KB) the general kernels' packed copy pays. Measured: the tutorial
/// CNN's dense layer, 64×3136 by 3136×128 (`A` 800 KB), took 1.0 ms here against 0.7 ms there.
const MAX_A_LEN: usize = 1 << 16;

/// Steps of k per pass over a block of sixteen columns of `B` (256 × 16 floats = 16 KB, half of
/// a typical L1 data cache).
const DEPTH_BLOCK: usize = 256;

/// Below this many multiply-adds (about 10 µs of work) the product stays on the calling thread:
/// handing chunks over costs a microsecond or so. Measured on 2 cores, the tutorial MLP's
/// 32×784×128 (3.2 M) took 115 µs on one and 60 µs on two (medians of 3,000 calls).
const THREADED_MIN_MACS: usize = 1 << 19;

/// `out = a · b` (or `out += a · b` when `accumulate`) for products with few rows or a short
/// depth and at least sixteen columns, when this CPU has AVX2 and FMA and `B` is stored by rows
/// or by columns (a transposed weight matrix, as in a dense layer's input gradient `dy · wᵀ`:
/// each block of sixteen of its columns is then copied into rows first). (Narrower products
/// would mask most of every load, and AMD's masked stores are slow: measured, the general
/// kernels are faster for the tutorial's ten-column layer.) Returns `false`, touching nothing,
/// otherwise.
///
/// The caller guarantees `m, n, k > 0`, `out.len() == m * n` and that every element the
/// operands' strides address for the given sizes lies inside their slices.
pub(super) fn sgemm_small(
    m: usize,
    n: usize,
    k: usize,
    a: &MatRef<f32>,
    b: &MatRef<f32>,
    out: &mut [MaybeUninit<f32>],
    accumulate: bool,
) -> bool {
    if !cfg!(target_arch = "x86_64")
        || isa() < Isa::Avx2
        || (m > SMALL_SIDE && k > SMALL_SIDE)
        || m * k > MAX_A_LEN
        || n < TILE_COLS
        || (b.col_stride != 1 && b.row_stride != 1)
    {
        return false;
    }
    let product = Product {
        a: a.data[a.offset..].as_ptr(),
        a_row_stride: a.row_stride,
        a_col_stride: a.col_stride,
        b: b.data[b.offset..].as_ptr(),
        b_row_stride: b.row_stride,
        b_col_stride: b.col_stride,
        c: SharedOut(out.as_mut_ptr().cast::<f32>()),
        n,
        k,
    };
    // SAFETY (all three): the caller guarantees the operands' bounds for m×k and k×n and that
    // `out` holds m×n elements, exclusively borrowed (so it overlaps neither operand); `isa()`
    // reported AVX2 and FMA; `accumulate` is only set for initialised `out`; and the chunks are
    // disjoint blocks of `C`, each run once.
    if m * n * k < THREADED_MIN_MACS {
        unsafe { product.block(0..m, 0..n, accumulate) };
    } else if m <= SMALL_SIDE && k >= SPLIT_DEPTH_MIN {
        // SAFETY: as above; `m ≤ SMALL_SIDE` keeps the second half's buffer small.
        unsafe { product.split_depth(m, out, accumulate) };
    } else if m <= SMALL_SIDE && n >= 2 * TILE_COLS {
        // Chunks of sixteen columns, so that each core reads its own part of `B`.
        share_chunks(n.div_ceil(TILE_COLS), |chunk| {
            let first = chunk * TILE_COLS;
            unsafe { product.block(0..m, first..n.min(first + TILE_COLS), accumulate) };
        });
    } else {
        let rows = m.div_ceil(ROW_CHUNKS);
        share_chunks(m.div_ceil(rows), |chunk| {
            let first = chunk * rows;
            unsafe { product.block(first..m.min(first + rows), 0..n, accumulate) };
        });
    }
    true
}

/// A product too narrow to share by columns, or with many rows (a dense layer's weight gradient,
/// `xᵀ · dy`), is shared in this many blocks of rows: the caller, claiming from the first, then
/// usually computes the first half of the rows, as it does when Adam updates the weights.
const ROW_CHUNKS: usize = 8;

/// Products with few rows at least this deep (a dense layer's forward product, `x · w`, whose
/// depth is the layer's input width) are split along k in two halves: the caller multiplies the
/// first half of `w`'s rows, the helper the second into a buffer of m×n that is then added. Each
/// core thus reads the same half of the weights that it writes in the weight gradient (split by
/// rows, above) and that Adam updates (also in halves), so a kernel's cache lines stay in one
/// core's cache from step to step. Split by columns instead, each core read half of every row
/// that the other core then rewrote, and taking those lines back cost more than the products:
/// measured on the 2-core Zen 4, the tutorial MLP's epoch went from 0.36 s to 0.28 s and Adam's
/// update from 52 to 25 µs a step. The halves depend on the shape only, so the sum is the same
/// on any number of threads.
const SPLIT_DEPTH_MIN: usize = 2 * DEPTH_BLOCK;

/// `C`'s first element, shared between the two threads, which write disjoint blocks of it.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: the pointer is only dereferenced by `Product::run`, whose callers give each thread a
// disjoint rectangle of `C`, so no element is written by two threads or read while written.
unsafe impl Send for SharedOut {}
// SAFETY: as above.
unsafe impl Sync for SharedOut {}

/// The operands of one product, `C` packed row-major with `n` columns.
#[derive(Clone, Copy)]
struct Product {
    a: *const f32,
    a_row_stride: usize,
    a_col_stride: usize,
    b: *const f32,
    b_row_stride: usize,
    /// 1 when `B` is stored by rows; otherwise `B` is stored by columns (`b_row_stride` 1)
    /// and each slice the tile reads is first copied into rows.
    b_col_stride: usize,
    c: SharedOut,
    n: usize,
    k: usize,
}

// SAFETY: `Product` only carries read-only pointers to `A` and `B`, which no thread writes while
// the product runs, and `C`'s pointer, shared as `SharedOut` explains.
unsafe impl Send for Product {}
// SAFETY: as above.
unsafe impl Sync for Product {}

impl Product {
    /// The product as the sum of two halves of k ([`SPLIT_DEPTH_MIN`]), the first into `out`,
    /// the second into its own buffer, then added; one half on each core when the helper is free.
    ///
    /// # Safety
    /// As for [`Product::block`] over all of `C` (`out`, `rows × self.n`, exclusively borrowed),
    /// with `self.k ≥ 2`.
    unsafe fn split_depth(&self, rows: usize, out: &mut [MaybeUninit<f32>], accumulate: bool) {
        let n = self.n;
        let half = (self.k / 2).next_multiple_of(8).min(self.k - 1);
        // Written whole by the second half's tiles (`accumulate` false), so never zero-filled.
        let mut second_sum: Vec<f32> = Vec::with_capacity(rows * n);
        let first = Product { k: half, ..*self };
        let second = Product {
            a: self.a.add(half * self.a_col_stride),
            b: self.b.add(half * self.b_row_stride),
            c: SharedOut(second_sum.as_mut_ptr()),
            k: self.k - half,
            ..*self
        };
        share_chunks(2, |chunk| {
            // SAFETY: each half reads its own rows of k within the caller's bounds and writes
            // its own m×n output (`out`, or `second_sum`, which holds rows × n elements).
            if chunk == 0 {
                unsafe { first.block(0..rows, 0..n, accumulate) };
            } else {
                unsafe { second.block(0..rows, 0..n, false) };
            }
        });
        // The first half has written (or added to) every element of `out`, the second every
        // element of `second_sum`'s first rows × n.
        second_sum.set_len(rows * n);
        let out = &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]);
        out.iter_mut().zip(&second_sum).for_each(|(o, s)| *o += s);
    }

    /// The block `rows × cols` of `C`, on this thread.
    ///
    /// # Safety
    /// As for [`kernel::tile`], for every tile of the block; no other thread may touch the
    /// block meanwhile.
    unsafe fn block(
        &self,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
        accumulate: bool,
    ) {
        // Where a slice of B stored by columns is copied into rows (16 KB, on this stack; not
        // made at all for B stored by rows, whose every call would otherwise zero it).
        let mut by_rows = if self.b_col_stride == 1 {
            None
        } else {
            Some([0f32; DEPTH_BLOCK * TILE_COLS])
        };
        for j in cols.clone().step_by(TILE_COLS) {
            let width = TILE_COLS.min(cols.end - j);
            // A slice of DEPTH_BLOCK rows of B's sixteen columns (16 KB) stays in the L1 cache
            // while every block of rows of A passes it; C's tiles take the slices' sum.
            for p in (0..self.k).step_by(DEPTH_BLOCK) {
                let depth = DEPTH_BLOCK.min(self.k - p);
                let (b, b_row_stride) = match by_rows.as_mut() {
                    None => (self.b.add(p * self.b_row_stride + j), self.b_row_stride),
                    Some(by_rows) => {
                        // Column jj of the slice is contiguous in B (`b_row_stride` is 1): it
                        // becomes every sixteenth value of the copy. Lanes past `width` keep
                        // stale values, which the tile's masks never read.
                        for jj in 0..width {
                            let column = self.b.add(p + (j + jj) * self.b_col_stride);
                            for q in 0..depth {
                                by_rows[q * TILE_COLS + jj] = *column.add(q);
                            }
                        }
                        (by_rows.as_ptr(), TILE_COLS)
                    }
                };
                for i in rows.clone().step_by(TILE_ROWS) {
                    let height = TILE_ROWS.min(rows.end - i);
                    let tile = Tile {
                        a: self.a.add(i * self.a_row_stride + p * self.a_col_stride),
                        a_row_stride: self.a_row_stride,
                        a_col_stride: self.a_col_stride,
                        b,
                        b_row_stride,
                        c: self.c.0.add(i * self.n + j),
                        c_row_stride: self.n,
                        k: depth,
                    };
                    #[cfg(target_arch = "x86_64")]
                    kernel::tile(&tile, height, width, accumulate || p > 0);
                    #[cfg(not(target_arch = "x86_64"))]
                    let _ = (tile, height, width);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
