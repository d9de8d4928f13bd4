//! The time loops of the recurrent layers — SimpleRNN, LSTM and GRU (both of Keras' GRU forms) —
//! over a whole sequence in one kernel each way. The input projection `x · W + b` for every
//! step is one large product made before the loop (by the caller); each step then costs one
//! product by the recurrent kernel (two for a GRU that resets before its product) and one pass
//! over the gates, which are computed together (LSTM's i, f, c, o as one (batch, 4·units)
//! block, as cuDNN and Keras lay them out).
//!
//! Batch rows never interact, so the batch is split into one piece per thread and each piece
//! runs the whole sequence on its own (shared with the backend's spinning helper thread, as the
//! other kernels share work, rather than through rayon's pool); the recurrent kernel's gradient, summed over every step
//! and row, is one product per piece after the backward loop instead of one per step.
//!
//! Layouts: the step inputs `xw` are batch-major (batch, steps, gates·units); the output is
//! batch-major (batch, steps, states·units) — each step's h, and for the LSTM its c after it.
//! What the backward pass needs is kept step-major per piece.

mod squash;
mod step_grads;

use super::matmul::{gemm, MatRef};
use super::parallel::share_chunks;
use crate::dtype::FloatElement;
use squash::squash_into;
use std::sync::{Mutex, MutexGuard};

/// A lock that a panic elsewhere does not poison for good (the panic is resumed anyway).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which cell the loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// `h = activation(xw + h · U)`.
    SimpleRnn,
    /// Gates i, f, c, o (Keras' order); `c = f·c + i·c̃`, `h = o·activation(c)`.
    Lstm,
    /// Gates z, r, h (Keras' order). `reset_after` (Keras' default, cuDNN's form): the reset
    /// gate scales the recurrent product `h · U_h + b_h`; otherwise it scales `h` before it.
    Gru {
        /// Whether the reset gate applies after the recurrent product.
        reset_after: bool,
    },
}

impl CellKind {
    /// Gate blocks per step: the width of `xw` and of the recurrent kernel, in units.
    pub fn gates(self) -> usize {
        match self {
            CellKind::SimpleRnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru { .. } => 3,
        }
    }
    /// States carried between steps: h, and the LSTM's c.
    pub fn states(self) -> usize {
        match self {
            CellKind::Lstm => 2,
            _ => 1,
        }
    }
}

/// The activations a recurrent cell can use: those whose slope follows from their output,
/// which is all the backward pass keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Squash {
    /// The identity.
    Linear,
    /// max(x, 0).
    Relu,
    /// The logistic sigmoid.
    Sigmoid,
    /// tanh.
    Tanh,
}

impl Squash {
    #[inline(always)]
    fn apply<T: FloatElement>(self, x: T) -> T {
        match self {
            Squash::Linear => x,
            Squash::Relu => x.max(T::zero()),
            Squash::Sigmoid => T::one() / (T::one() + (-x).exp()),
            Squash::Tanh => x.tanh(),
        }
    }
    /// The derivative at the input whose output is `y`.
    #[inline(always)]
    fn slope<T: FloatElement>(self, y: T) -> T {
        match self {
            Squash::Linear => T::one(),
            Squash::Relu => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Squash::Sigmoid => y * (T::one() - y),
            Squash::Tanh => T::one() - y * y,
        }
    }
}

/// The size and kind of one recurrent loop.
#[derive(Debug, Clone, Copy)]
pub struct Recurrence {
    /// The cell.
    pub kind: CellKind,
    /// Sequences in the batch.
    pub batch: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Units (the width of each state).
    pub units: usize,
    /// The activation of the candidate state (and of the LSTM's output).
    pub activation: Squash,
    /// The gates' activation.
    pub recurrent_activation: Squash,
    /// Output every step's states, or only the last step's.
    pub sequences: bool,
}

impl Recurrence {
    /// Output steps: all, or the last one.
    fn out_steps(&self) -> usize {
        if self.sequences {
            self.steps
        } else {
            1
        }
    }
}

/// The inputs of a loop, as slices.
#[derive(Clone, Copy)]
pub struct RecurrentInputs<'a, T> {
    /// The step inputs `x · W`, (batch, steps, gates·units) — or, with `input_kernel`, `x`
    /// itself (batch, steps, features).
    pub xw: &'a [T],
    /// `W` (features, gates·units) and the features: each step's projection is made inside
    /// the loop, so the whole (batch, steps, gates·units) projection never exists (inference).
    pub input_kernel: Option<(&'a [T], usize)>,
    /// The bias added to every step input, (gates·units).
    pub input_bias: Option<&'a [T]>,
    /// The recurrent kernel, (units, gates·units).
    pub kernel: &'a [T],
    /// The initial h, (batch, units).
    pub h0: &'a [T],
    /// The LSTM's initial c, (batch, units).
    pub c0: Option<&'a [T]>,
    /// The recurrent bias of a GRU with `reset_after`, (gates·units).
    pub recurrent_bias: Option<&'a [T]>,
    /// Which (batch, step) entries are real; a masked step carries the states over unchanged.
    pub mask: Option<&'a [bool]>,
    /// Recurrent dropout: h is multiplied by this (batch, units) before every recurrent
    /// product (kept units scaled by 1 / (1 − rate), the others 0), the same at every step,
    /// as Keras does; the states themselves carry on unscaled.
    pub state_keep: Option<&'a [T]>,
}

/// What one batch piece's backward pass needs, step-major.
struct Piece<T> {
    /// The first batch row of the piece.
    start: usize,
    /// Its rows.
    rows: usize,
    /// Activated gates per step, (steps, rows, gates·units).
    gates: Vec<T>,
    /// h before and after every step, (steps + 1, rows, units).
    h: Vec<T>,
    /// The LSTM's c likewise.
    c: Vec<T>,
    /// GRU: the recurrent product's h block (`reset_after`) or `r · h` (otherwise), per step.
    extra: Vec<T>,
}

/// What [`recurrent_forward`] keeps for [`recurrent_backward`].
pub struct RecurrentSaved<T> {
    pieces: Vec<Piece<T>>,
}

/// Batch pieces: one per thread when the loop is worth splitting.
fn pieces(r: &Recurrence) -> Vec<(usize, usize)> {
    let macs = r.batch * r.steps * r.units * r.units * r.kind.gates();
    let threads = rayon::current_num_threads().max(1);
    let n = if macs >= 1 << 20 {
        threads.min(r.batch.div_ceil(4)).max(1)
    } else {
        1
    };
    let rows = r.batch.div_ceil(n).max(1);
    (0..r.batch)
        .step_by(rows)
        .map(|s| (s, rows.min(r.batch - s)))
        .collect()
}

fn mat<T>(data: &[T], offset: usize, row_stride: usize, col_stride: usize) -> MatRef<'_, T> {
    MatRef {
        data,
        offset,
        row_stride,
        col_stride,
    }
}

/// Runs the loop: the output (batch, steps, states·units) and, when `keep`, what the backward
/// pass needs (otherwise only two steps' states are ever held).
pub fn recurrent_forward<T: FloatElement>(
    r: &Recurrence,
    inputs: RecurrentInputs<'_, T>,
    keep: bool,
) -> (Vec<T>, RecurrentSaved<T>) {
    let width = r.kind.states() * r.units;
    let mut out = vec![T::zero(); r.batch * r.out_steps() * width];
    let plan = pieces(r);
    let row_len = (r.out_steps() * width).max(1);
    let rows_each = plan.first().map_or(1, |p| p.1);
    // Each piece's share of the output, taken by whichever thread runs it.
    let shares: Vec<Mutex<Option<&mut [T]>>> = out
        .chunks_mut(rows_each * row_len)
        .map(|o| Mutex::new(Some(o)))
        .collect();
    let done: Vec<Mutex<Option<Piece<T>>>> = plan.iter().map(|_| Mutex::new(None)).collect();
    share_chunks(plan.len(), |i| {
        let (start, rows) = plan[i];
        if let Some(out) = lock(&shares[i]).take() {
            *lock(&done[i]) = Some(forward_piece(r, &inputs, start, rows, keep, out));
        }
    });
    let pieces = done
        .into_iter()
        .filter_map(|p| p.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    (out, RecurrentSaved { pieces })
}

/// A GRU's new state from its saved gates: `h = z·h_prev + (1 − z)·h̃`.
fn gru_blend<T: FloatElement>(gates: &[T], hp: &[T], hn: &mut [T], u: usize) {
    let g = 3 * u;
    for ((s, hp), hn) in gates.chunks(g).zip(hp.chunks(u)).zip(hn.chunks_mut(u)) {
        let (z, hh) = (&s[..u], &s[2 * u..]);
        for j in 0..u {
            hn[j] = z[j] * hp[j] + (T::one() - z[j]) * hh[j];
        }
    }
}

/// Two distinct slots of `buf` (each `len` long): the first to read, the second to write.
fn slots<T>(buf: &mut [T], read: usize, write: usize, len: usize) -> (&[T], &mut [T]) {
    debug_assert_ne!(read, write);
    if read < write {
        let (a, b) = buf.split_at_mut(write * len);
        (&a[read * len..][..len], &mut b[..len])
    } else {
        let (a, b) = buf.split_at_mut(read * len);
        (&b[..len], &mut a[write * len..][..len])
    }
}

fn forward_piece<T: FloatElement>(
    r: &Recurrence,
    x: &RecurrentInputs<'_, T>,
    start: usize,
    rows: usize,
    keep: bool,
    out: &mut [T],
) -> Piece<T> {
    let (u, steps, kind) = (r.units, r.steps, r.kind);
    let g = kind.gates() * u;
    let width = kind.states() * u;
    let (act, gate) = (r.activation, r.recurrent_activation);
    let state_slots = if keep { steps + 1 } else { 2 };
    let step_slots = if keep { steps } else { 1 };
    let mut h = vec![T::zero(); state_slots * rows * u];
    h[..rows * u].copy_from_slice(&x.h0[start * u..][..rows * u]);
    let mut c = Vec::new();
    if kind == CellKind::Lstm {
        c = vec![T::zero(); state_slots * rows * u];
        if let Some(c0) = x.c0 {
            c[..rows * u].copy_from_slice(&c0[start * u..][..rows * u]);
        }
    }
    let mut gates = vec![T::zero(); step_slots * rows * g];
    let mut extra = match kind {
        CellKind::Gru { .. } => vec![T::zero(); step_slots * rows * u],
        _ => Vec::new(),
    };
    let mut pre = vec![T::zero(); rows * g];
    let mut rec = match kind {
        CellKind::Gru { .. } => vec![T::zero(); rows * g],
        _ => Vec::new(),
    };
    let state_slot = |t: usize| if keep { t } else { t % 2 };
    let keep_mask = x.state_keep.map(|m| &m[start * u..][..rows * u]);
    let mut dropped = vec![T::zero(); if keep_mask.is_some() { rows * u } else { 0 }];
    for t in 0..steps {
        match x.input_kernel {
            Some((w, f)) => {
                let rows_at = mat(x.xw, (start * steps + t) * f, steps * f, 1);
                gemm(rows, g, f, rows_at, mat(w, 0, g, 1), &mut pre, false);
            }
            None => {
                for i in 0..rows {
                    pre[i * g..][..g].copy_from_slice(&x.xw[((start + i) * steps + t) * g..][..g]);
                }
            }
        }
        if let Some(b) = x.input_bias {
            for p in pre.chunks_mut(g) {
                p.iter_mut().zip(b).for_each(|(p, &b)| *p += b);
            }
        }
        let (read, write) = (state_slot(t), state_slot(t + 1));
        let (hp, hn) = slots(&mut h, read, write, rows * u);
        let gs = if keep { t } else { 0 };
        let gt = &mut gates[gs * rows * g..][..rows * g];
        let masked = |i: usize| x.mask.is_some_and(|m| !m[(start + i) * steps + t]);
        // The h the recurrent product sees: under recurrent dropout, h times its keep mask.
        let hd: &[T] = match keep_mask {
            Some(m) => {
                dropped
                    .iter_mut()
                    .zip(hp.iter().zip(m))
                    .for_each(|(d, (&h, &k))| *d = h * k);
                &dropped
            }
            None => hp,
        };
        let hmat = mat(hd, 0, u, 1);
        match kind {
            CellKind::SimpleRnn => {
                gemm(rows, g, u, hmat, mat(x.kernel, 0, g, 1), &mut pre, true);
                squash_into(act, &pre, hn);
            }
            CellKind::Lstm => {
                gemm(rows, g, u, hmat, mat(x.kernel, 0, g, 1), &mut pre, true);
                let (cp, cn) = slots(&mut c, read, write, rows * u);
                for (p, s) in pre.chunks(g).zip(gt.chunks_mut(g)) {
                    squash_into(gate, &p[..2 * u], &mut s[..2 * u]);
                    squash_into(act, &p[2 * u..3 * u], &mut s[2 * u..3 * u]);
                    squash_into(gate, &p[3 * u..], &mut s[3 * u..]);
                }
                for (s, (cn, cp)) in gt.chunks(g).zip(cn.chunks_mut(u).zip(cp.chunks(u))) {
                    let (ig, f, cc) = (&s[..u], &s[u..2 * u], &s[2 * u..3 * u]);
                    for j in 0..u {
                        cn[j] = f[j] * cp[j] + ig[j] * cc[j];
                    }
                }
                squash_into(act, cn, hn);
                for (s, hn) in gt.chunks(g).zip(hn.chunks_mut(u)) {
                    let o = &s[3 * u..];
                    for j in 0..u {
                        hn[j] *= o[j];
                    }
                }
                for i in (0..rows).filter(|&i| masked(i)) {
                    cn[i * u..][..u].copy_from_slice(&cp[i * u..][..u]);
                }
            }
            CellKind::Gru { reset_after: true } => {
                gemm(rows, g, u, hmat, mat(x.kernel, 0, g, 1), &mut rec, false);
                if let Some(b) = x.recurrent_bias {
                    for q in rec.chunks_mut(g) {
                        q.iter_mut().zip(b).for_each(|(q, &b)| *q += b);
                    }
                }
                let ex = &mut extra[gs * rows * u..][..rows * u];
                for ((p, q), (s, ex)) in pre
                    .chunks_mut(g)
                    .zip(rec.chunks(g))
                    .zip(gt.chunks_mut(g).zip(ex.chunks_mut(u)))
                {
                    for j in 0..2 * u {
                        p[j] += q[j];
                    }
                    squash_into(gate, &p[..2 * u], &mut s[..2 * u]);
                    ex.copy_from_slice(&q[2 * u..]);
                    let rr = &s[u..2 * u];
                    for j in 0..u {
                        p[2 * u + j] += rr[j] * ex[j];
                    }
                    squash_into(act, &p[2 * u..], &mut s[2 * u..]);
                }
                gru_blend(gt, hp, hn, u);
            }
            CellKind::Gru { reset_after: false } => {
                // z and r from h · U[:, :2u]; then the candidate from (r · h) · U[:, 2u:].
                let zr = &mut rec[..rows * 2 * u];
                gemm(rows, 2 * u, u, hmat, mat(x.kernel, 0, g, 1), zr, false);
                let ex = &mut extra[gs * rows * u..][..rows * u];
                for (i, (p, s)) in pre.chunks_mut(g).zip(gt.chunks_mut(g)).enumerate() {
                    for j in 0..2 * u {
                        p[j] += zr[i * 2 * u + j];
                    }
                    squash_into(gate, &p[..2 * u], &mut s[..2 * u]);
                    for j in 0..u {
                        ex[i * u + j] = s[u + j] * hd[i * u + j];
                    }
                }
                let hx = &mut rec[..rows * u];
                gemm(
                    rows,
                    u,
                    u,
                    mat(ex, 0, u, 1),
                    mat(x.kernel, 2 * u, g, 1),
                    hx,
                    false,
                );
                for ((p, s), hx) in pre.chunks_mut(g).zip(gt.chunks_mut(g)).zip(hx.chunks(u)) {
                    for j in 0..u {
                        p[2 * u + j] += hx[j];
                    }
                    squash_into(act, &p[2 * u..], &mut s[2 * u..]);
                }
                gru_blend(gt, hp, hn, u);
            }
        }
        // A padding step carries h (and c, above) over unchanged.
        for i in (0..rows).filter(|&i| masked(i)) {
            hn[i * u..][..u].copy_from_slice(&hp[i * u..][..u]);
        }
        let at = match r.sequences {
            true => t,
            false if t + 1 == steps => 0,
            false => continue,
        };
        for i in 0..rows {
            let o = &mut out[(i * r.out_steps() + at) * width..][..width];
            o[..u].copy_from_slice(&hn[i * u..][..u]);
            if kind == CellKind::Lstm {
                o[u..].copy_from_slice(&c[write * rows * u + i * u..][..u]);
            }
        }
    }
    Piece {
        start,
        rows,
        gates,
        h,
        c,
        extra,
    }
}

/// The gradients of one loop.
pub struct RecurrentGrads<T> {
    /// Of `xw`, (batch, steps, gates·units).
    pub xw: Vec<T>,
    /// Of the input bias (empty without one).
    pub input_bias: Vec<T>,
    /// Of the recurrent kernel, (units, gates·units).
    pub kernel: Vec<T>,
    /// Of the initial h.
    pub h0: Vec<T>,
    /// Of the LSTM's initial c (empty otherwise).
    pub c0: Vec<T>,
    /// Of a GRU's recurrent bias (empty otherwise).
    pub recurrent_bias: Vec<T>,
}

/// Backpropagation through time: the gradients of every input of [`recurrent_forward`] (run
/// with `keep`) from the gradient of its output, `dy` (batch, steps or 1, states·units).
pub fn recurrent_backward<T: FloatElement>(
    r: &Recurrence,
    inputs: RecurrentInputs<'_, T>,
    saved: &RecurrentSaved<T>,
    dy: &[T],
) -> RecurrentGrads<T> {
    let (u, g) = (r.units, r.kind.gates() * r.units);
    let mut dxw = vec![T::zero(); r.batch * r.steps * g];
    let mut dh0 = vec![T::zero(); r.batch * u];
    let mut dc0 = match r.kind {
        CellKind::Lstm => vec![T::zero(); r.batch * u],
        _ => Vec::new(),
    };
    let rows_each = saved.pieces.first().map_or(1, |p| p.rows);
    let dc_chunks: Vec<&mut [T]> = if dc0.is_empty() {
        saved.pieces.iter().map(|_| &mut [][..]).collect()
    } else {
        dc0.chunks_mut(rows_each * u).collect()
    };
    type Share<'a, T> = Mutex<Option<(&'a mut [T], &'a mut [T], &'a mut [T])>>;
    let shares: Vec<Share<'_, T>> = dxw
        .chunks_mut((rows_each * r.steps * g).max(1))
        .zip(dh0.chunks_mut(rows_each * u))
        .zip(dc_chunks)
        .map(|((a, b), c)| Mutex::new(Some((a, b, c))))
        .collect();
    // Each piece's share of the recurrent kernel's and bias' gradients.
    type Sums<T> = Mutex<Option<(Vec<T>, Vec<T>)>>;
    let done: Vec<Sums<T>> = saved.pieces.iter().map(|_| Mutex::new(None)).collect();
    share_chunks(saved.pieces.len(), |i| {
        if let Some((dxw, dh0, dc0)) = lock(&shares[i]).take() {
            let piece = &saved.pieces[i];
            *lock(&done[i]) = Some(backward_piece(r, &inputs, piece, dy, dxw, dh0, dc0));
        }
    });
    let sums = done
        .into_iter()
        .filter_map(|p| p.into_inner().unwrap_or_else(|e| e.into_inner()));
    let mut kernel = vec![T::zero(); u * g];
    let mut recurrent_bias = match r.kind {
        CellKind::Gru { reset_after: true } => vec![T::zero(); g],
        _ => Vec::new(),
    };
    for (dk, db) in sums {
        kernel.iter_mut().zip(&dk).for_each(|(a, &b)| *a += b);
        recurrent_bias
            .iter_mut()
            .zip(&db)
            .for_each(|(a, &b)| *a += b);
    }
    // The input bias was added to every step input: its gradient sums theirs.
    let mut input_bias = Vec::new();
    if inputs.input_bias.is_some() {
        input_bias = vec![T::zero(); g];
        for row in dxw.chunks(g) {
            input_bias.iter_mut().zip(row).for_each(|(a, &b)| *a += b);
        }
    }
    RecurrentGrads {
        input_bias,
        xw: dxw,
        kernel,
        h0: dh0,
        c0: dc0,
        recurrent_bias,
    }
}

/// One piece's backward loop; returns its share of the recurrent kernel's and bias' gradients.
fn backward_piece<T: FloatElement>(
    r: &Recurrence,
    x: &RecurrentInputs<'_, T>,
    p: &Piece<T>,
    dy: &[T],
    dxw: &mut [T],
    dh_out: &mut [T],
    dc_out: &mut [T],
) -> (Vec<T>, Vec<T>) {
    let (u, steps, kind, rows, start) = (r.units, r.steps, r.kind, p.rows, p.start);
    let g = kind.gates() * u;
    let width = kind.states() * u;
    let (act, gate) = (r.activation, r.recurrent_activation);
    let mut dh = vec![T::zero(); rows * u];
    let mut dc = vec![T::zero(); if kind == CellKind::Lstm { rows * u } else { 0 }];
    // The gradient reaching the recurrent product at each step, step-major: its product with
    // the states before each step is the recurrent kernel's gradient.
    let mut drec = vec![T::zero(); steps * rows * g];
    let mut drh = vec![T::zero(); rows * u];
    let mut squashed_c = vec![T::zero(); if kind == CellKind::Lstm { rows * u } else { 0 }];
    let keep_mask = x.state_keep.map(|m| &m[start * u..][..rows * u]);
    let mut through_product = vec![T::zero(); if keep_mask.is_some() { rows * u } else { 0 }];
    // Uᵀ (gates·units, units) stored by rows once: every step multiplies by it, and a product
    // by a transposed view would copy it into rows at every step.
    let mut kernel_t = vec![T::zero(); g * u];
    for (row, k) in x.kernel.chunks(g).enumerate() {
        for (col, &v) in k.iter().enumerate() {
            kernel_t[col * u + row] = v;
        }
    }
    for t in (0..steps).rev() {
        let at = match r.sequences {
            true => Some(t),
            false if t + 1 == steps => Some(0),
            false => None,
        };
        for i in (0..rows).filter(|_| at.is_some()) {
            let at = at.unwrap_or(0);
            let d = &dy[((start + i) * r.out_steps() + at) * width..][..width];
            for j in 0..u {
                dh[i * u + j] += d[j];
            }
            if kind == CellKind::Lstm {
                for j in 0..u {
                    dc[i * u + j] += d[u + j];
                }
            }
        }
        let hp = &p.h[t * rows * u..][..rows * u];
        let hn = &p.h[(t + 1) * rows * u..][..rows * u];
        let gt = &p.gates[t * rows * g..][..rows * g];
        let dr = &mut drec[t * rows * g..][..rows * g];
        let masked = |i: usize| x.mask.is_some_and(|m| !m[(start + i) * steps + t]);
        match kind {
            CellKind::SimpleRnn => {
                for i in (0..rows).filter(|&i| !masked(i)) {
                    for j in 0..u {
                        let k = i * u + j;
                        dr[k] = dh[k] * act.slope(hn[k]);
                        dh[k] = T::zero();
                    }
                }
            }
            CellKind::Lstm => {
                let cp = &p.c[t * rows * u..][..rows * u];
                let cn = &p.c[(t + 1) * rows * u..][..rows * u];
                squash_into(act, cn, &mut squashed_c);
                // Unmasked rows in runs, each run in one vectorised pass; a masked row's
                // gradients pass through unchanged (and its gates get none).
                let mut i = 0;
                while i < rows {
                    if masked(i) {
                        i += 1;
                        continue;
                    }
                    let end = (i..rows).find(|&k| masked(k)).unwrap_or(rows);
                    let (us, gs) = (i * u..end * u, i * g..end * g);
                    let step = step_grads::LstmStep {
                        gates: &gt[gs.clone()],
                        cp: &cp[us.clone()],
                        a: &squashed_c[us.clone()],
                        dh: &mut dh[us.clone()],
                        dc: &mut dc[us],
                        dr: &mut dr[gs],
                        units: u,
                    };
                    step_grads::lstm_step(step, act, gate);
                    i = end;
                }
            }
            CellKind::Gru { reset_after } => {
                let ex = &p.extra[t * rows * u..][..rows * u];
                for i in (0..rows).filter(|&i| !masked(i)) {
                    let (s, d) = (&gt[i * g..][..g], &mut dr[i * g..][..g]);
                    for j in 0..u {
                        let k = i * u + j;
                        let (z, rr, hh) = (s[j], s[u + j], s[2 * u + j]);
                        let dhh = dh[k] * (T::one() - z) * act.slope(hh);
                        d[j] = dh[k] * (hp[k] - hh) * gate.slope(z);
                        if reset_after {
                            d[u + j] = dhh * ex[k] * gate.slope(rr);
                            // The candidate's step input sees dhh; its recurrent block r·dhh.
                            d[2 * u + j] = dhh * rr;
                            dxw_at(dxw, i, t, steps, g)[2 * u + j] = dhh;
                        } else {
                            d[2 * u + j] = dhh;
                        }
                        dh[k] *= z;
                    }
                }
                if !reset_after {
                    // d(r·h) = dhh · U_hᵀ, then the reset gate and h's share through it.
                    let dhh = mat(dr, 2 * u, g, 1);
                    gemm(
                        rows,
                        u,
                        u,
                        dhh,
                        mat(&kernel_t, 2 * u * u, u, 1),
                        &mut drh,
                        false,
                    );
                    let keep_of = |k: usize| keep_mask.map_or(T::one(), |m| m[k]);
                    for i in (0..rows).filter(|&i| !masked(i)) {
                        for j in 0..u {
                            let k = i * u + j;
                            let rr = gt[i * g + u + j];
                            let kept = keep_of(k);
                            dr[i * g + u + j] = drh[k] * hp[k] * kept * gate.slope(rr);
                            dh[k] += drh[k] * rr * kept;
                        }
                    }
                }
            }
        }
        // The step inputs' gradient is the recurrent product's, but for a reset-after GRU's
        // candidate block (written above).
        for i in (0..rows).filter(|&i| !masked(i)) {
            let d = dxw_at(dxw, i, t, steps, g);
            let blocks = match kind {
                CellKind::Gru { reset_after: true } => 2 * u,
                _ => g,
            };
            d[..blocks].copy_from_slice(&dr[i * g..][..blocks]);
        }
        let k = match kind {
            CellKind::Gru { reset_after: false } => 2 * u,
            _ => g,
        };
        match keep_mask {
            None => gemm(
                rows,
                u,
                k,
                mat(dr, 0, g, 1),
                mat(&kernel_t, 0, u, 1),
                &mut dh,
                true,
            ),
            Some(m) => {
                // The product saw h times the keep mask: so does its gradient.
                let tp = &mut through_product;
                gemm(
                    rows,
                    u,
                    k,
                    mat(dr, 0, g, 1),
                    mat(&kernel_t, 0, u, 1),
                    tp,
                    false,
                );
                for (d, (&p, &k)) in dh.iter_mut().zip(tp.iter().zip(m)) {
                    *d += p * k;
                }
            }
        }
    }
    dh_out.copy_from_slice(&dh);
    dc_out.copy_from_slice(&dc);
    // dU = Σ_t h_{t-1}ᵀ · drec_t: one product over every step and row of the piece.
    let n = steps * rows;
    let mut dk = vec![T::zero(); u * g];
    // The states the products saw (under recurrent dropout, times the keep mask).
    let seen: Vec<T>;
    let hprev = match keep_mask {
        None => mat(&p.h, 0, 1, u),
        Some(m) => {
            seen = p.h[..n * u]
                .chunks(rows * u)
                .flat_map(|step| step.iter().zip(m).map(|(&h, &k)| h * k))
                .collect();
            mat(&seen, 0, 1, u)
        }
    };
    match kind {
        CellKind::Gru { reset_after: false } => {
            let mut zr = vec![T::zero(); u * 2 * u];
            gemm(u, 2 * u, n, hprev, mat(&drec, 0, g, 1), &mut zr, false);
            let mut hh = vec![T::zero(); u * u];
            let rh = mat(&p.extra, 0, 1, u);
            gemm(u, u, n, rh, mat(&drec, 2 * u, g, 1), &mut hh, false);
            for row in 0..u {
                dk[row * g..][..2 * u].copy_from_slice(&zr[row * 2 * u..][..2 * u]);
                dk[row * g + 2 * u..][..u].copy_from_slice(&hh[row * u..][..u]);
            }
        }
        _ => gemm(u, g, n, hprev, mat(&drec, 0, g, 1), &mut dk, false),
    }
    let mut db = Vec::new();
    if kind == (CellKind::Gru { reset_after: true }) {
        db = vec![T::zero(); g];
        for row in drec.chunks(g) {
            db.iter_mut().zip(row).for_each(|(a, &b)| *a += b);
        }
    }
    (dk, db)
}

/// Row `i` (of the piece), step `t` of the piece's slice of the step inputs' gradient.
fn dxw_at<T>(dxw: &mut [T], i: usize, t: usize, steps: usize, g: usize) -> &mut [T] {
    &mut dxw[(i * steps + t) * g..][..g]
}
