//! Products with one or two rows in `A` (one image through a dense layer): packing `B` into
//! panels, as the general kernels do, would cost as much as the product itself, so each row of
//! `C` streams through `B` where it lies, with AVX2 and FMA.

mod gemv;

use super::isa::{isa, Isa};
use super::parallel::join_or_help;
use super::MatRef;
use std::mem::MaybeUninit;

/// Rows of at least this many multiply-adds are cut in two (the tutorial MLP's first layer,
/// 784 × 128, is 100 K: about 6 µs on one core).
const SPLIT_MIN_MACS: usize = 1 << 16;
/// The cut falls on a multiple of the widest column block of the row kernels.
const SPLIT_COLUMNS: usize = 64;

/// Products with at most this many rows stream through `B`; beyond, `B`'s rows are reused
/// often enough that packing them pays.
const MAX_ROWS: usize = 2;

/// `out = a · b` (or `out += a · b` when `accumulate`) for products with few rows, when this CPU
/// has AVX2 and FMA and `B` has a unit stride. Returns `false`, touching nothing, otherwise.
///
/// The caller guarantees `m, n, k > 0`, `out.len() == m * n` and that every element the
/// operands' strides address for the given sizes lies inside their slices.
pub(super) fn sgemm_few_rows(
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
        || m > MAX_ROWS
        || (b.col_stride != 1 && b.row_stride != 1)
    {
        return false;
    }
    let mut row = Vec::new();
    for (i, out) in out.chunks_exact_mut(n).enumerate() {
        let first = a.offset + i * a.row_stride;
        let a_row: &[f32] = if a.col_stride == 1 {
            &a.data[first..first + k]
        } else {
            row.clear();
            row.extend((0..k).map(|p| a.data[first + p * a.col_stride]));
            &row
        };
        row_times(a_row, b, out, accumulate);
    }
    true
}

/// One row of C (`out`, n elements) from one row of A; a large one in two halves of columns, the
/// second on another core if one is free to start it ([`join_or_help`]: waiting for a sleeping
/// core to wake, measured, took longer than the whole row).
fn row_times(a_row: &[f32], b: &MatRef<f32>, out: &mut [MaybeUninit<f32>], accumulate: bool) {
    let n = out.len();
    if a_row.len() * n >= SPLIT_MIN_MACS && n >= 2 * SPLIT_COLUMNS {
        let mid = (n / 2).next_multiple_of(SPLIT_COLUMNS);
        let (left, right) = out.split_at_mut(mid);
        let right_b = MatRef {
            offset: b.offset + mid * b.col_stride,
            ..*b
        };
        return join_or_help(
            || row_times(a_row, b, left, accumulate),
            || row_times(a_row, &right_b, right, accumulate),
        );
    }
    let out = out.as_mut_ptr().cast::<f32>();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `isa()` reported AVX2 and FMA on this CPU; the caller guarantees that B's k×n
    // elements lie inside `b.data`, and `out` is one row of n elements of C, initialised when
    // `accumulate`.
    unsafe {
        if b.col_stride == 1 {
            gemv::row_times_rows(a_row, b, n, out, accumulate)
        } else {
            gemv::row_times_columns(a_row, b, n, out, accumulate)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (a_row, b, n, out, accumulate);
}

#[cfg(test)]
mod tests;
