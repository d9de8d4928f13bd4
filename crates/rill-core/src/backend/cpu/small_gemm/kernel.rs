//! The 6×16 register tile of the unpacked products: six rows of `A` broadcast one element at a
//! time against sixteen columns of one row of `B`, read where they lie.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows of `C` per tile: six rows × two vectors is twelve accumulators, which with the two
/// vectors of `B` and one broadcast fills fifteen of AVX2's sixteen registers.
pub(super) const TILE_ROWS: usize = 6;
/// Columns of `C` per tile: two AVX2 vectors of f32.
pub(super) const TILE_COLS: usize = 16;

/// One tile's operands: `a` points at `A(i0, 0)`, `b` at `B(0, j0)` (unit column stride), `c` at
/// `C(i0, j0)` (unit column stride).
#[derive(Clone, Copy)]
pub(super) struct Tile {
    pub a: *const f32,
    pub a_row_stride: usize,
    pub a_col_stride: usize,
    pub b: *const f32,
    pub b_row_stride: usize,
    pub c: *mut f32,
    pub c_row_stride: usize,
    pub k: usize,
}

/// `C[..rows, ..cols] (+)= A[..rows, ..k] · B[..k, ..cols]` for one tile, `rows` ≤ 6 and `cols`
/// ≤ 16.
///
/// # Safety
/// The CPU must support AVX2 and FMA. For i < rows, p < k and j < cols, `A(i, p)` at
/// `a + i·a_row_stride + p·a_col_stride`, `B(p, j)` at `b + p·b_row_stride + j` must be readable
/// and `C(i, j)` at `c + i·c_row_stride + j` writable (and readable when `accumulate`); `C` must
/// not overlap `A` or `B`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile(t: &Tile, rows: usize, cols: usize, accumulate: bool) {
    debug_assert!((1..=TILE_ROWS).contains(&rows) && (1..=TILE_COLS).contains(&cols));
    // Distinct row counts are distinct functions so that the accumulators stay in registers.
    match (rows, cols == TILE_COLS) {
        (6, true) => rows_tile::<6, true>(t, cols, accumulate),
        (5, true) => rows_tile::<5, true>(t, cols, accumulate),
        (4, true) => rows_tile::<4, true>(t, cols, accumulate),
        (3, true) => rows_tile::<3, true>(t, cols, accumulate),
        (2, true) => rows_tile::<2, true>(t, cols, accumulate),
        (1, true) => rows_tile::<1, true>(t, cols, accumulate),
        (6, false) => rows_tile::<6, false>(t, cols, accumulate),
        (5, false) => rows_tile::<5, false>(t, cols, accumulate),
        (4, false) => rows_tile::<4, false>(t, cols, accumulate),
        (3, false) => rows_tile::<3, false>(t, cols, accumulate),
        (2, false) => rows_tile::<2, false>(t, cols, accumulate),
        _ => rows_tile::<1, false>(t, cols, accumulate),
    }
}

/// The tile for `R` rows; `FULL` when all sixteen columns are present, otherwise the missing
/// ones are masked out of every load and store of `B` and `C` (masked lanes are never touched,
/// so they may lie outside the matrices).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn rows_tile<const R: usize, const FULL: bool>(t: &Tile, cols: usize, accumulate: bool) {
    let masks = [lane_mask(cols), lane_mask(cols.saturating_sub(8))];
    let load = |p: *const f32, v: usize| {
        if FULL {
            _mm256_loadu_ps(p)
        } else {
            _mm256_maskload_ps(p, masks[v])
        }
    };
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    let (mut a, mut b) = (t.a, t.b);
    for _ in 0..t.k {
        let b0 = load(b, 0);
        let b1 = load(b.wrapping_add(8), 1);
        for (i, acc) in acc.iter_mut().enumerate() {
            let s = _mm256_broadcast_ss(&*a.add(i * t.a_row_stride));
            acc[0] = _mm256_fmadd_ps(s, b0, acc[0]);
            acc[1] = _mm256_fmadd_ps(s, b1, acc[1]);
        }
        a = a.wrapping_add(t.a_col_stride);
        b = b.wrapping_add(t.b_row_stride);
    }
    for (i, acc) in acc.iter().enumerate() {
        let row = t.c.add(i * t.c_row_stride);
        for (v, &value) in acc.iter().enumerate() {
            let dst = row.wrapping_add(8 * v);
            let value = if accumulate {
                _mm256_add_ps(value, load(dst, v))
            } else {
                value
            };
            if FULL {
                _mm256_storeu_ps(dst, value);
            } else {
                _mm256_maskstore_ps(dst, masks[v], value);
            }
        }
    }
}

/// A mask whose first `min(n, 8)` lanes are set.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn lane_mask(n: usize) -> __m256i {
    let n = n.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}
