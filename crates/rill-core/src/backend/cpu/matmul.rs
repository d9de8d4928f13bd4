use super::gemm_kernel::{gemm_kernel, Strided};
use crate::dtype::FloatElement;
use gemm_common::Parallelism;
use rayon::prelude::*;
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
    // writes zeros, otherwise the `gemm` kernel with `read_dst = false` stores every element of the
    // m×n destination (dst := a·b). The capacity is at least `len`.
    unsafe { out.set_len(len) };
    out
}

/// `out = a · b` into a packed row-major m×n slice that may be uninitialised: afterwards every
/// element is written (for results assembled piece by piece without zero-filling first).
pub fn gemm_uninit<T: FloatElement>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    out: &mut [MaybeUninit<T>],
) {
    gemm_into(m, n, k, a, b, out, false)
}

/// The product into `out`; `accumulate` (`out += a · b`) only for initialised `out`, which
/// `gemm` alone passes.
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
    assert_in_bounds(m, n, k, &a, &b);
    if let Some((a, b, out)) = as_f32(a, b, out) {
        if super::few_rows::sgemm_few_rows(m, n, k, &a, &b, out, accumulate)
            || super::small_gemm::sgemm_small(m, n, k, &a, &b, out, accumulate)
        {
            return;
        }
    }
    let product = Product { m, n, k, a, b };
    let threads = rayon::current_num_threads();
    if m * n * k >= THREADED_MIN_MACS && threads > 1 && is_deep(m, n, k) {
        return split_depth(product, out, accumulate, threads);
    }
    let parallelism = if m * n * k >= THREADED_MIN_MACS {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    single_call(product, out, accumulate, parallelism)
}

/// The operands of `a · b`, `a` m×k and `b` k×n, all three sizes positive.
#[derive(Clone, Copy)]
struct Product<'a, T> {
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'a, T>,
    b: MatRef<'a, T>,
}

impl<'a, T> Product<'a, T> {
    /// The product over steps `first..first + len` of k only.
    fn depth_slice(self, first: usize, len: usize) -> Self {
        Product {
            k: len,
            a: MatRef {
                offset: self.a.offset + first * self.a.col_stride,
                ..self.a
            },
            b: MatRef {
                offset: self.b.offset + first * self.b.row_stride,
                ..self.b
            },
            ..self
        }
    }
}

/// Whether a product is deep and narrow, as a convolution's kernel gradient is (288 × 12544 ×
/// 64 in the tutorial's CNN: k is the batch's pixel count): its output is too small to split
/// well between threads, its depth is not.
fn is_deep(m: usize, n: usize, k: usize) -> bool {
    m * n <= 1 << 16 && k >= 8 * m.max(n)
}

/// A deep product split along k: each thread multiplies its own slice of the depth, the first
/// into `out` and the others into buffers that are then added to it (m × n values each, small
/// beside the product).
fn split_depth<T: FloatElement>(
    p: Product<T>,
    out: &mut [MaybeUninit<T>],
    accumulate: bool,
    threads: usize,
) {
    let depth = p.k.div_ceil(threads);
    let part = |first: usize| p.depth_slice(first, depth.min(p.k - first));
    let (_, partials) = rayon::join(
        || single_call(part(0), out, accumulate, Parallelism::None),
        || {
            (depth..p.k)
                .step_by(depth)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|first| {
                    let q = part(first);
                    gemm_new(q.m, q.n, q.k, q.a, q.b)
                })
                .collect::<Vec<_>>()
        },
    );
    // SAFETY: `single_call` with k > 0 wrote every element of `out` (or updated it when
    // `accumulate`, which the caller only sets for initialised memory), so it is initialised.
    let out = unsafe { &mut *(out as *mut [MaybeUninit<T>] as *mut [T]) };
    for partial in partials {
        out.iter_mut().zip(&partial).for_each(|(o, &p)| *o += p);
    }
}

/// One call of the `gemm` crate for the whole product.
fn single_call<T: FloatElement>(
    p: Product<T>,
    out: &mut [MaybeUninit<T>],
    accumulate: bool,
    parallelism: Parallelism,
) {
    let Product { m, n, k, a, b } = p;
    assert_eq!(out.len(), m * n, "gemm: output buffer has the wrong length");
    assert_in_bounds(m, n, k, &a, &b);
    // SAFETY: the asserts above prove that every element (i, j) the strides address, for i < m
    // and j < k (a), j < n (b), lies inside its slice (m, n and k are positive: `gemm_into`
    // returned earlier otherwise, and `split_depth` gives each part at least one step of k);
    // `out` is a distinct, exclusively borrowed packed m×n buffer (row stride n, column stride
    // 1), so it aliases neither operand. `gemm` reads `out` only when `read_dst` (`accumulate`)
    // is set, and the only public entry that sets it (`gemm` above) passes initialised memory;
    // otherwise it only writes.
    unsafe {
        let strided = |r: MatRef<T>| Strided {
            ptr: r.data.as_ptr().add(r.offset),
            row_stride: r.row_stride,
            col_stride: r.col_stride,
        };
        gemm_kernel(
            m,
            n,
            k,
            out.as_mut_ptr() as *mut T,
            n,
            1,
            accumulate,
            strided(a),
            strided(b),
            T::one(),
            parallelism,
        );
    }
}

/// Panics unless every element the strides address for an m×k `a` and a k×n `b` (all three
/// positive) lies inside its slice: what the kernels' unchecked reads rely on.
fn assert_in_bounds<T>(m: usize, n: usize, k: usize, a: &MatRef<T>, b: &MatRef<T>) {
    let last = |r: &MatRef<T>, rows: usize, cols: usize| {
        r.offset + (rows - 1) * r.row_stride + (cols - 1) * r.col_stride
    };
    assert!(
        last(a, m, k) < a.data.len() && last(b, k, n) < b.data.len(),
        "gemm: operand out of bounds"
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A deep product (a kernel gradient's shape) takes the split along k; with `a` transposed as
    /// the gradient rule passes it, overwriting and accumulating, it must equal the product
    /// summed in f64 in one pass.
    #[test]
    fn deep_products_split_along_k_give_the_whole_sum() {
        let (m, n, k) = (48, 40, 9001);
        assert!(is_deep(m, n, k) && m * n * k >= THREADED_MIN_MACS);
        // `a` stored k×m (a transposed view), `b` k×n row-major; values small integers / 8,
        // so every partial sum is exact in f32 and only the summation order could differ.
        let at: Vec<f32> = (0..k * m)
            .map(|i| ((i * 13) % 7) as f32 / 8.0 - 0.375)
            .collect();
        let bv: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5) % 9) as f32 / 8.0 - 0.5)
            .collect();
        let a = MatRef {
            data: &at,
            offset: 0,
            row_stride: 1,
            col_stride: m,
        };
        let b = MatRef {
            data: &bv,
            offset: 0,
            row_stride: n,
            col_stride: 1,
        };
        let want: Vec<f64> = (0..m * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                (0..k)
                    .map(|p| at[p * m + i] as f64 * bv[p * n + j] as f64)
                    .sum()
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            let got = gemm_new(m, n, k, a, b);
            let mut acc = vec![1.0f32; m * n];
            gemm(m, n, k, a, b, &mut acc, true);
            for ij in 0..m * n {
                assert!(
                    (got[ij] as f64 - want[ij]).abs() < 1e-3,
                    "{ij}: {} vs {}",
                    got[ij],
                    want[ij]
                );
                assert!(
                    (acc[ij] as f64 - want[ij] - 1.0).abs() < 1e-3,
                    "{ij}: accumulated"
                );
            }
        });
    }
}
