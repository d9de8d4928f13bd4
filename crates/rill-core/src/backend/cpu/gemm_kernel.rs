//! The call into the `gemm` crate family's f32 and f64 kernels (`gemm-f32`, `gemm-f64`).
//!
//! Rill depends on those two crates rather than on the `gemm` umbrella crate, which also
//! compiles complex and f16 kernels Rill never calls. What the umbrella adds on top is done
//! here: its kernels prefer a column-major destination, so a row-major product `C = A·B` is
//! handed over as `Cᵀ = Bᵀ·Aᵀ` (the same memory, strides swapped).

use gemm_common::Parallelism;
use std::any::TypeId;

/// One strided operand: where element (0, 0) is, and the steps between rows and columns.
#[derive(Debug, Clone, Copy)]
pub(super) struct Strided<T> {
    pub ptr: *const T,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// `dst = a·b`, or `dst += a·b` when `accumulate`, for `a` m×k, `b` k×n and `dst` m×n (all
/// three sizes positive), with the `gemm` kernels of the widest vector extension the CPU has.
///
/// # Safety
/// For every i < m, j < n, l < k the elements `a(i, l)`, `b(l, j)` and `dst(i, j)` that the
/// strides address must be valid to read (`dst` only when `accumulate`) and `dst(i, j)` valid to
/// write; `dst` must not overlap `a` or `b`, and no two `(i, j)` may address the same `dst`
/// element. `T` must be `f32` or `f64` (anything else panics before any memory is touched).
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_kernel<T: Copy + 'static>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_row_stride: usize,
    dst_col_stride: usize,
    accumulate: bool,
    a: Strided<T>,
    b: Strided<T>,
    one: T,
    parallelism: Parallelism,
) {
    let s = |x: usize| x as isize;
    // The kernels walk the destination column by column; a destination whose rows are
    // contiguous is the transposed product's destination with contiguous columns.
    let (m, n, dst_cs, dst_rs, lhs, rhs) = if dst_col_stride < dst_row_stride {
        let (bt, at) = (b.transposed(), a.transposed());
        (n, m, dst_row_stride, dst_col_stride, bt, at)
    } else {
        (m, n, dst_col_stride, dst_row_stride, a, b)
    };
    macro_rules! call {
        ($kernel:expr, $t:ty) => {
            // SAFETY: `T` is `$t` (the `TypeId`s are equal), so these casts only rename the type;
            // the caller guarantees every address the kernel touches (see `# Safety`), and the
            // transposition above addresses exactly the same elements.
            ($kernel)(
                m,
                n,
                k,
                dst as *mut $t,
                s(dst_cs),
                s(dst_rs),
                accumulate,
                lhs.ptr as *const $t,
                s(lhs.col_stride),
                s(lhs.row_stride),
                rhs.ptr as *const $t,
                s(rhs.col_stride),
                s(rhs.row_stride),
                *(&one as *const T as *const $t),
                *(&one as *const T as *const $t),
                false,
                false,
                false,
                parallelism,
            )
        };
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        #[cfg(target_arch = "x86_64")]
        if avx512_capped_to_avx2() {
            call!(gemm_f32_avx2, f32);
            return;
        }
        call!(gemm_f32::gemm::f32::get_gemm_fn(), f32)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        call!(gemm_f64::gemm::f64::get_gemm_fn(), f64)
    } else {
        panic!("gemm: only f32 and f64 products have kernels");
    }
}

/// Whether `RILL_ISA=avx2` caps the kernels on a CPU that has AVX-512. The `gemm` crate would
/// still pick its AVX-512 kernels then (it decides by itself), so its AVX2 + FMA kernels are
/// called directly: a machine with AVX-512 measures the large products of AVX2-only CPUs too.
#[cfg(target_arch = "x86_64")]
fn avx512_capped_to_avx2() -> bool {
    #[cfg(test)]
    if tests::AVX2_KERNELS.get() {
        return true;
    }
    super::isa::isa() == super::isa::Isa::Avx2 && std::arch::is_x86_feature_detected!("avx512f")
}

/// The `gemm` crate's f32 product with its AVX2 + FMA micro-kernels, as its own dispatch calls
/// it on a CPU without AVX-512 (the same generic driver, kernels and blocking constants).
///
/// # Safety
/// As for `gemm_f32`'s own kernels (the caller of [`gemm_kernel`] guarantees it), on a CPU with
/// AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_f32_avx2(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const f32,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const f32,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: f32,
    beta: f32,
    conj_dst: bool,
    conj_lhs: bool,
    conj_rhs: bool,
    parallelism: Parallelism,
) {
    use gemm_common::simd::{MixedSimd, V3};
    use gemm_f32::microkernel::fma::f32 as kernels;
    /// f32 lanes of an AVX2 register.
    const LANES: usize = 8;
    let simd = <V3 as MixedSimd<f32, f32, f32, f32>>::try_new()
        .expect("gemm: the AVX2 kernels need AVX2 and FMA (isa() reported them)");
    // SAFETY: the caller's guarantee, and the CPU has AVX2 and FMA (`simd` exists).
    unsafe {
        gemm_common::gemm::gemm_basic_generic::<
            _,
            f32,
            LANES,
            { kernels::MR_DIV_N * LANES },
            { kernels::NR },
            { kernels::MR_DIV_N },
            { kernels::H_M },
            { kernels::H_N },
        >(
            simd,
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            read_dst,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            alpha,
            beta,
            conj_dst,
            conj_lhs,
            conj_rhs,
            |a, b, c| a * b + c,
            &kernels::UKR,
            &kernels::H_UKR,
            false,
            parallelism,
        )
    }
}

impl<T> Strided<T> {
    fn transposed(self) -> Self {
        Strided {
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Makes this thread's f32 products take the AVX2 kernels as under `RILL_ISA=avx2`.
        pub(super) static AVX2_KERNELS: Cell<bool> = const { Cell::new(false) };
    }

    /// Both element types, a destination with one column (not transposed) and with several
    /// (transposed), operands in either storage order, overwriting and accumulating: the
    /// result equals an f64 triple loop.
    #[test]
    fn kernel_matches_a_triple_loop_for_f32_and_f64() {
        fn check<T: Copy + 'static + Into<f64> + From<i8>>(one: T) {
            for &(m, n, k) in &[(5, 1, 7), (3, 9, 4), (17, 33, 65)] {
                for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a: Vec<T> = (0..m * k).map(|i| T::from((i % 7) as i8 - 3)).collect();
                    let b: Vec<T> = (0..k * n).map(|i| T::from((i % 5) as i8 - 2)).collect();
                    let strided = |v: &[T], cols: usize, rows: usize, t: bool| Strided {
                        ptr: v.as_ptr(),
                        row_stride: if t { 1 } else { cols },
                        col_stride: if t { rows } else { 1 },
                    };
                    let at = |i: usize, l: usize| if a_t { a[l * m + i] } else { a[i * k + l] };
                    let bt = |l: usize, j: usize| if b_t { b[j * k + l] } else { b[l * n + j] };
                    for accumulate in [false, true] {
                        let mut out: Vec<T> = (0..m * n).map(|_| T::from(1)).collect();
                        // SAFETY: every index the strides address is inside `a`, `b` and `out`
                        // (row-major m×k / k×n, or their transposes), and `out` is separate.
                        unsafe {
                            gemm_kernel(
                                m,
                                n,
                                k,
                                out.as_mut_ptr(),
                                n,
                                1,
                                accumulate,
                                strided(&a, k, m, a_t),
                                strided(&b, n, k, b_t),
                                one,
                                Parallelism::None,
                            );
                        }
                        for i in 0..m {
                            for j in 0..n {
                                let want: f64 = (0..k)
                                    .map(|l| at(i, l).into() * bt(l, j).into())
                                    .sum::<f64>()
                                    + if accumulate { 1.0 } else { 0.0 };
                                let got: f64 = out[i * n + j].into();
                                assert_eq!(got, want, "{m}x{n}x{k} {a_t} {b_t} {accumulate}");
                            }
                        }
                    }
                }
            }
        }
        check::<f32>(1.0);
        check::<f64>(1.0);
        // The `gemm` crate's AVX2 kernels called directly, as `RILL_ISA=avx2` does on a CPU
        // with AVX-512.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            AVX2_KERNELS.set(true);
            check::<f32>(1.0);
            AVX2_KERNELS.set(false);
        }
    }
}
