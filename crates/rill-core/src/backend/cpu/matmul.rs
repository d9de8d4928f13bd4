use crate::dtype::FloatElement;

/// A read-only strided matrix: `data[offset + i * row_stride + j * col_stride]` is element (i, j).
/// Transposes are free: swap the strides.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a, T> {
    /// The storage the matrix lives in.
    pub data: &'a [T],
    /// Index of element (0, 0).
    pub offset: usize,
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
}

/// Below this many multiply-adds a product runs on one thread; above, `gemm` splits it across
/// the rayon pool. Chosen from `cargo bench -p rill-core` on 2 cores.
const THREADED_MIN_MACS: usize = 1 << 24;

/// `out = a · b` (or `out += a · b` when `accumulate`), with `a` m×k, `b` k×n and `out` a packed
/// row-major m×n slice.
pub fn gemm<T: FloatElement>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    out: &mut [T],
    accumulate: bool,
) {
    assert_eq!(out.len(), m * n, "gemm: output buffer has the wrong length");
    if m == 0 || n == 0 {
        return;
    }
    let last = |r: &MatRef<T>, rows: usize, cols: usize| {
        r.offset + (rows.max(1) - 1) * r.row_stride + (cols.max(1) - 1) * r.col_stride
    };
    if k > 0 {
        assert!(
            last(&a, m, k) < a.data.len() && last(&b, k, n) < b.data.len(),
            "gemm: operand out of bounds"
        );
    }
    if k == 0 {
        if !accumulate {
            out.iter_mut().for_each(|o| *o = T::zero());
        }
        return;
    }
    let parallelism = if m * n * k >= THREADED_MIN_MACS {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above prove that every element (i, j) the strides address, for i < m
    // and j < k (a), j < n (b), lies inside its slice; `out` is a distinct, exclusively borrowed
    // packed m×n buffer (row stride n, column stride 1), so it aliases neither operand. `gemm`
    // reads `out` only when `read_dst` is set, and `out` is initialised.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr().add(a.offset),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr().add(b.offset),
            b.col_stride as isize,
            b.row_stride as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}
