//! The cells' sigmoid and tanh over slices, vectorised: a branch-free exp (Cephes' polynomial,
//! within 2 ulp over the whole f32 range) that the compiler turns into AVX-512 or AVX2 code,
//! chosen once per process by [`isa`](super::super::isa). These dominate a recurrent layer's
//! time with libm's scalar `expf`/`tanhf` (measured: 35% of an LSTM's inference).

use super::Squash;
use crate::backend::cpu::{isa, Isa};
use crate::dtype::FloatElement;
use std::any::TypeId;

/// `dst[i] = kind(src[i])`.
pub(super) fn squash_into<T: FloatElement>(kind: Squash, src: &[T], dst: &mut [T]) {
    let dst = &mut dst[..src.len()];
    if let (Some(src), Some(dst)) = (as_f32(src), as_f32_mut(dst)) {
        if matches!(kind, Squash::Sigmoid | Squash::Tanh) {
            return squash_f32(kind, src, dst);
        }
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = kind.apply(s);
    }
}

fn as_f32<T: 'static>(s: &[T]) -> Option<&[f32]> {
    // SAFETY: `T` is `f32` (same `TypeId`): the same slice with its own type.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { &*(s as *const [T] as *const [f32]) })
}

fn as_f32_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: as in `as_f32`; the borrow is moved, not copied.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { &mut *(s as *mut [T] as *mut [f32]) })
}

fn squash_f32(kind: Squash, src: &[f32], dst: &mut [f32]) {
    match isa() {
        // SAFETY: `isa()` reports AVX-512F only when the CPU has it.
        Isa::Avx512 => unsafe { squash_avx512(kind, src, dst) },
        // SAFETY: `isa()` reports AVX2 only when the CPU has AVX2 and FMA.
        Isa::Avx2 => unsafe { squash_avx2(kind, src, dst) },
        Isa::Baseline => squash_portable(kind, src, dst),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
unsafe fn squash_avx512(kind: Squash, src: &[f32], dst: &mut [f32]) {
    squash_portable(kind, src, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn squash_avx2(kind: Squash, src: &[f32], dst: &mut [f32]) {
    squash_portable(kind, src, dst)
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn squash_avx512(kind: Squash, src: &[f32], dst: &mut [f32]) {
    squash_portable(kind, src, dst)
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn squash_avx2(kind: Squash, src: &[f32], dst: &mut [f32]) {
    squash_portable(kind, src, dst)
}

/// The loops, inlined into each ISA's function so that each is vectorised for it.
#[inline(always)]
fn squash_portable(kind: Squash, src: &[f32], dst: &mut [f32]) {
    match kind {
        Squash::Sigmoid => {
            for (d, &x) in dst.iter_mut().zip(src) {
                *d = 1.0 / (1.0 + exp(-x));
            }
        }
        Squash::Tanh => {
            for (d, &x) in dst.iter_mut().zip(src) {
                // tanh|x| = (1 − e) / (1 + e) with e = exp(−2|x|) ≤ 1: no overflow.
                let e = exp(-2.0 * x.abs());
                *d = ((1.0 - e) / (1.0 + e)).copysign(x);
            }
        }
        other => {
            for (d, &x) in dst.iter_mut().zip(src) {
                *d = other.apply(x);
            }
        }
    }
}

/// e^x for f32, branch-free: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by Cephes' degree-6
/// polynomial, 2^n by the exponent bits. Inputs are clamped to where 2^n stays normal.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that n·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from n + 127 in the exponent bits, without a float → int conversion (whose saturating
    // semantics the compiler cannot vectorise): adding 1.5·2²³ puts the integer n + 127
    // (1…254) in the low mantissa bits, which the shift moves into the exponent field.
    let biased = n + (12_582_912.0 + 127.0);
    y * f32::from_bits(biased.to_bits() << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_and_tanh_are_within_a_few_ulp_of_libm_everywhere() {
        let xs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 0.0047).collect();
        // Below −87.3 the result would be subnormal: it stays at the smallest normal instead.
        for &x in xs.iter().filter(|x| x.abs() <= 87.0) {
            let (got, want) = (exp(x), x.exp());
            assert!(
                (got - want).abs() <= 3.0 * f32::EPSILON * want,
                "exp({x}): {got} vs {want}"
            );
        }
        for kind in [Squash::Sigmoid, Squash::Tanh] {
            let mut fast = vec![0.0f32; xs.len()];
            squash_into(kind, &xs, &mut fast);
            for (&x, &f) in xs.iter().zip(&fast) {
                let exact = match kind {
                    Squash::Sigmoid => 1.0 / (1.0 + (-(x as f64)).exp()),
                    _ => (x as f64).tanh(),
                };
                assert!(
                    (f as f64 - exact).abs() <= 2e-7,
                    "{kind:?}({x}): {f} vs {exact}"
                );
            }
        }
        // The ends: saturated, never NaN or infinite.
        let ends = [-1e30f32, -200.0, 200.0, 1e30, f32::MIN, f32::MAX];
        let mut out = [0.0f32; 6];
        squash_into(Squash::Sigmoid, &ends, &mut out);
        assert_eq!(out.map(|v| v.round()), [0.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
        squash_into(Squash::Tanh, &ends, &mut out);
        assert_eq!(out, [-1.0, -1.0, 1.0, 1.0, -1.0, 1.0]);
    }
}
