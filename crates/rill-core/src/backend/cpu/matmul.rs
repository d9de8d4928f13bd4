use crate::dtype::FloatElement;
use std::any::TypeId;
use std::mem::MaybeUninit;

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
/// the rayon pool. Measured with `cargo bench -p rill-nn` on 2 cores: waking the second core for
/// the tutorial's 32×784×128 products cost more than it saved.
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
    // SAFETY: `T` and `MaybeUninit<T>` have the same layout, and every element of `out` is
    // initialised; `gemm_into` only ever writes initialised values into it, so `out` is still
    // fully initialised when the borrow ends.
    let out = unsafe { &mut *(out as *mut [T] as *mut [MaybeUninit<T>]) };
    gemm_into(m, n, k, a, b, out, accumulate)
}

/// `a · b` as a new packed row-major m×n vector, written directly without zero-filling first
/// (for large products the fill costs as much memory traffic as writing the result).
pub fn gemm_new<T: FloatElement>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
) -> Vec<T> {
    let len = m * n;
    let mut out: Vec<T> = Vec::with_capacity(len);
    gemm_into(m, n, k, a, b, &mut out.spare_capacity_mut()[..len], false);
    // SAFETY: `gemm_into` with `accumulate = false` initialises all m·n elements: with k = 0 it
    // writes zeros, otherwise `gemm::gemm` with `read_dst = false` stores every element of the
    // m×n destination (dst := a·b). The capacity is at least `len`.
    unsafe { out.set_len(len) };
    out
}

fn gemm_into<T: FloatElement>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    out: &mut [MaybeUninit<T>],
    accumulate: bool,
) {
    assert_eq!(out.len(), m * n, "gemm: output buffer has the wrong length");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.iter_mut().for_each(|o| {
                o.write(T::zero());
            });
        }
        return;
    }
    let last = |r: &MatRef<T>, rows: usize, cols: usize| {
        r.offset + (rows - 1) * r.row_stride + (cols - 1) * r.col_stride
    };
    assert!(
        last(&a, m, k) < a.data.len() && last(&b, k, n) < b.data.len(),
        "gemm: operand out of bounds"
    );
    if let Some((a, b, out)) = as_f32(a, b, out) {
        if super::few_rows::sgemm_few_rows(m, n, k, &a, &b, out, accumulate) {
            return;
        }
    }
    let parallelism = if m * n * k >= THREADED_MIN_MACS {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above prove that every element (i, j) the strides address, for i < m
    // and j < k (a), j < n (b), lies inside its slice; `out` is a distinct, exclusively borrowed
    // packed m×n buffer (row stride n, column stride 1), so it aliases neither operand. `gemm`
    // reads `out` only when `read_dst` (`accumulate`) is set, and the only caller that sets it
    // (`gemm` above) passes initialised memory; otherwise it only writes.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr() as *mut T,
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

/// The same operands typed as `f32`, when `T` is `f32`: Rill's own kernels are for that type.
#[allow(clippy::type_complexity)]
fn as_f32<'a, 'o, T: 'static>(
    a: MatRef<'a, T>,
    b: MatRef<'a, T>,
    out: &'o mut [MaybeUninit<T>],
) -> Option<(MatRef<'a, f32>, MatRef<'a, f32>, &'o mut [MaybeUninit<f32>])> {
    if TypeId::of::<T>() != TypeId::of::<f32>() {
        return None;
    }
    let cast = |r: MatRef<'a, T>| MatRef {
        // SAFETY: `T` is `f32` (same `TypeId`), so this is the same slice with its own type.
        data: unsafe { &*(r.data as *const [T] as *const [f32]) },
        offset: r.offset,
        row_stride: r.row_stride,
        col_stride: r.col_stride,
    };
    // SAFETY: as above, `MaybeUninit<T>` is `MaybeUninit<f32>`; the borrow is moved, not copied.
    let out = unsafe { &mut *(out as *mut [MaybeUninit<T>] as *mut [MaybeUninit<f32>]) };
    Some((cast(a), cast(b), out))
}
