//! One row of `A` times `B`, in the two storage orders of `B` that have a unit stride.

use crate::backend::cpu::MatRef;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// `out[0..n] (+)= a_row · B` for `B` k×n with unit column stride (row-major rows).
///
/// # Safety
/// The CPU must support AVX2 and FMA; `b.col_stride == 1` and every element (p, j), p < k =
/// `a_row.len()`, j < n, lies inside `b.data`; `out` must address `n` writable floats, readable
/// when `accumulate`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn row_times_rows(
    a_row: &[f32],
    b: &MatRef<f32>,
    n: usize,
    out: *mut f32,
    accumulate: bool,
) {
    let base = b.data.as_ptr().add(b.offset);
    let mut j = 0;
    // 64 columns at a time: eight accumulators, one pass down B per block of columns.
    while j + 64 <= n {
        let mut acc = [_mm256_setzero_ps(); 8];
        for (p, &ap) in a_row.iter().enumerate() {
            let s = _mm256_set1_ps(ap);
            let src = base.add(p * b.row_stride + j);
            for (r, acc) in acc.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(s, _mm256_loadu_ps(src.add(8 * r)), *acc);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            store(out.add(j + 8 * r), *acc, accumulate);
        }
        j += 64;
    }
    while j + 8 <= n {
        let mut acc = _mm256_setzero_ps();
        for (p, &ap) in a_row.iter().enumerate() {
            let src = base.add(p * b.row_stride + j);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(ap), _mm256_loadu_ps(src), acc);
        }
        store(out.add(j), acc, accumulate);
        j += 8;
    }
    for j in j..n {
        let mut sum = 0.0;
        for (p, &ap) in a_row.iter().enumerate() {
            sum += ap * *base.add(p * b.row_stride + j);
        }
        let dst = out.add(j);
        *dst = if accumulate { *dst + sum } else { sum };
    }
}

/// `out[0..n] (+)= a_row · B` for `B` k×n with unit row stride (each column contiguous, as in a
/// transposed weight matrix): one dot product per column.
///
/// # Safety
/// As for [`row_times_rows`], with `b.row_stride == 1` in place of the column stride.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn row_times_columns(
    a_row: &[f32],
    b: &MatRef<f32>,
    n: usize,
    out: *mut f32,
    accumulate: bool,
) {
    let k = a_row.len();
    let base = b.data.as_ptr().add(b.offset);
    let a = a_row.as_ptr();
    for j in 0..n {
        let col = base.add(j * b.col_stride);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut p = 0;
        while p + 32 <= k {
            for (r, acc) in acc.iter_mut().enumerate() {
                let (x, y) = (
                    _mm256_loadu_ps(a.add(p + 8 * r)),
                    _mm256_loadu_ps(col.add(p + 8 * r)),
                );
                *acc = _mm256_fmadd_ps(x, y, *acc);
            }
            p += 32;
        }
        while p + 8 <= k {
            acc[0] = _mm256_fmadd_ps(
                _mm256_loadu_ps(a.add(p)),
                _mm256_loadu_ps(col.add(p)),
                acc[0],
            );
            p += 8;
        }
        let sum4 = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sum4);
        let mut sum: f32 = lanes.iter().sum();
        for p in p..k {
            sum += *a.add(p) * *col.add(p);
        }
        let dst = out.add(j);
        *dst = if accumulate { *dst + sum } else { sum };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store(dst: *mut f32, value: __m256, accumulate: bool) {
    let value = if accumulate {
        _mm256_add_ps(value, _mm256_loadu_ps(dst))
    } else {
        value
    };
    _mm256_storeu_ps(dst, value);
}
