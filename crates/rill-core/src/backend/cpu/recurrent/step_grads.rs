//! One step of the LSTM's backward pass over a block of rows, written for the compiler to
//! vectorise: the activations' slopes are closures resolved before the loop (never a `match`
//! per element), and f32 rows with Keras' default activations run in functions compiled for
//! AVX-512 or AVX2, chosen at run time as the forward pass's [`squash`](super::squash) is.

use super::Squash;
use crate::backend::cpu::{isa, Isa};
use crate::dtype::FloatElement;
use std::any::TypeId;

/// One LSTM step's gradients for `rows` rows (each u units; gates i, f, c, o): from the
/// gradients reaching h and c after the step (`dh`, `dc`, replaced by those reaching them
/// before it — `dh` zero, as the recurrent product adds its share later), the saved gates
/// `gates` (rows, 4u), c before the step `cp` and `act(c)` after it `a`, the gate gradients
/// before their activations into `dr` (rows, 4u).
pub(super) struct LstmStep<'a, T> {
    pub gates: &'a [T],
    pub cp: &'a [T],
    pub a: &'a [T],
    pub dh: &'a mut [T],
    pub dc: &'a mut [T],
    pub dr: &'a mut [T],
    pub units: usize,
}

/// Runs [`LstmStep`] with `act` and `gate` as the cell's activations.
pub(super) fn lstm_step<T: FloatElement>(s: LstmStep<'_, T>, act: Squash, gate: Squash) {
    if (act, gate) == (Squash::Tanh, Squash::Sigmoid) && TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: `T` is `f32` (same `TypeId`): the same slices with their own type.
        let s: LstmStep<'_, f32> = unsafe { std::mem::transmute(s) };
        return match isa() {
            // SAFETY: `isa()` reports AVX-512F only when the CPU has it.
            Isa::Avx512 => unsafe { lstm_default_avx512(s) },
            // SAFETY: `isa()` reports AVX2 only when the CPU has AVX2 and FMA.
            Isa::Avx2 => unsafe { lstm_default_avx2(s) },
            Isa::Baseline => lstm_rows(s, tanh_slope, sigmoid_slope),
        };
    }
    lstm_rows(s, |y| act.slope(y), |y| gate.slope(y))
}

#[inline(always)]
fn tanh_slope(y: f32) -> f32 {
    1.0 - y * y
}

#[inline(always)]
fn sigmoid_slope(y: f32) -> f32 {
    y * (1.0 - y)
}

#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f,avx2,fma"))]
unsafe fn lstm_default_avx512(s: LstmStep<'_, f32>) {
    lstm_rows(s, tanh_slope, sigmoid_slope)
}

#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2,fma"))]
unsafe fn lstm_default_avx2(s: LstmStep<'_, f32>) {
    lstm_rows(s, tanh_slope, sigmoid_slope)
}

#[inline(always)]
fn lstm_rows<T: FloatElement>(
    s: LstmStep<'_, T>,
    act_slope: impl Fn(T) -> T,
    gate_slope: impl Fn(T) -> T,
) {
    let u = s.units;
    let rows = s.dh.len() / u.max(1);
    for i in 0..rows {
        let g = &s.gates[i * 4 * u..][..4 * u];
        let (ig, f, cc, o) = (&g[..u], &g[u..2 * u], &g[2 * u..3 * u], &g[3 * u..]);
        let (cp, a) = (&s.cp[i * u..][..u], &s.a[i * u..][..u]);
        let (dh, dc) = (&mut s.dh[i * u..][..u], &mut s.dc[i * u..][..u]);
        let d = &mut s.dr[i * 4 * u..][..4 * u];
        let (d_i, rest) = d.split_at_mut(u);
        let (d_f, rest) = rest.split_at_mut(u);
        let (d_c, d_o) = rest.split_at_mut(u);
        lstm_row(
            ig,
            f,
            cc,
            o,
            cp,
            a,
            dh,
            dc,
            d_i,
            d_f,
            d_c,
            d_o,
            &act_slope,
            &gate_slope,
        );
    }
}

/// One row. The slices arrive as separate arguments (not fields of a struct, an array or a
/// tuple) so that the compiler knows that the ones written alias nothing else and vectorises
/// the loop: measured, the same loop over a struct's fields stayed scalar.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lstm_row<T: FloatElement, A: Fn(T) -> T, G: Fn(T) -> T>(
    ig: &[T],
    f: &[T],
    cc: &[T],
    o: &[T],
    cp: &[T],
    a: &[T],
    dh: &mut [T],
    dc: &mut [T],
    d_i: &mut [T],
    d_f: &mut [T],
    d_c: &mut [T],
    d_o: &mut [T],
    act_slope: &A,
    gate_slope: &G,
) {
    let u = dh.len();
    let (ig, f, cc, o, cp, a) = (&ig[..u], &f[..u], &cc[..u], &o[..u], &cp[..u], &a[..u]);
    let (dc, d_i, d_f, d_c, d_o) = (
        &mut dc[..u],
        &mut d_i[..u],
        &mut d_f[..u],
        &mut d_c[..u],
        &mut d_o[..u],
    );
    for j in 0..u {
        let dcx = dc[j] + dh[j] * o[j] * act_slope(a[j]);
        d_i[j] = dcx * cc[j] * gate_slope(ig[j]);
        d_f[j] = dcx * cp[j] * gate_slope(f[j]);
        d_c[j] = dcx * ig[j] * act_slope(cc[j]);
        d_o[j] = dh[j] * a[j] * gate_slope(o[j]);
        dc[j] = dcx * f[j];
        dh[j] = T::zero();
    }
}
