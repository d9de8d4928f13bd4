//! The recurrence op (SimpleRNN, LSTM, GRU's two forms): its values against the same cell
//! written step by step with plain ops, its gradients against finite differences — padding
//! steps included — and its split into batch pieces against one piece.

mod common;
use common::{check_gradients, randn};
use rill_core::{
    CellKind, DType, Generator, RecurrentCell, RecurrentExtras, Result, Squash, Tensor,
};

const KINDS: [CellKind; 4] = [
    CellKind::SimpleRnn,
    CellKind::Lstm,
    CellKind::Gru { reset_after: true },
    CellKind::Gru { reset_after: false },
];

fn cell(kind: CellKind) -> RecurrentCell {
    RecurrentCell {
        kind,
        activation: Squash::Tanh,
        recurrent_activation: Squash::Sigmoid,
    }
}

/// `x[:, :, block·u .. (block+1)·u]`.
fn block(x: &Tensor, i: usize, u: usize) -> Tensor {
    x.slice(-1, i * u, (i + 1) * u).unwrap()
}

/// The cell written out with plain ops, one step at a time (Keras' formulas), returning what
/// the recurrence op returns: h per step, and c after it for an LSTM.
fn reference(
    kind: CellKind,
    xw: &Tensor,
    k: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    // The GRU's recurrent bias, the padding mask and recurrent dropout's keep mask.
    (rb, mask, keep): (Option<&Tensor>, Option<&Tensor>, Option<&Tensor>),
) -> Result<Tensor> {
    let (steps, u) = (xw.shape()[1], h0.shape()[1]);
    let (mut h, mut c) = (h0.clone(), c0.clone());
    let mut outs = Vec::new();
    for t in 0..steps {
        let x = xw.slice(1, t, t + 1)?.squeeze(1)?;
        // What the recurrent products see: h, or h times recurrent dropout's keep mask.
        let hd = match keep {
            Some(k) => h.mul(k)?,
            None => h.clone(),
        };
        let (hn, cn) = match kind {
            CellKind::SimpleRnn => (x.add(&hd.matmul(k)?)?.tanh()?, c.clone()),
            CellKind::Lstm => {
                let p = x.add(&hd.matmul(k)?)?;
                let (i, f) = (block(&p, 0, u).sigmoid()?, block(&p, 1, u).sigmoid()?);
                let (g, o) = (block(&p, 2, u).tanh()?, block(&p, 3, u).sigmoid()?);
                let cn = f.mul(&c)?.add(&i.mul(&g)?)?;
                (o.mul(&cn.tanh()?)?, cn)
            }
            CellKind::Gru { reset_after } => {
                let (kz, kr, kh) = (block(k, 0, u), block(k, 1, u), block(k, 2, u));
                let mut rec_z = hd.matmul(&kz)?;
                let mut rec_r = hd.matmul(&kr)?;
                if let Some(b) = rb {
                    rec_z = rec_z.add(&block(b, 0, u))?;
                    rec_r = rec_r.add(&block(b, 1, u))?;
                }
                let z = block(&x, 0, u).add(&rec_z)?.sigmoid()?;
                let r = block(&x, 1, u).add(&rec_r)?.sigmoid()?;
                let cand = if reset_after {
                    let rec_h = hd.matmul(&kh)?.add(&block(rb.unwrap(), 2, u))?;
                    block(&x, 2, u).add(&r.mul(&rec_h)?)?
                } else {
                    block(&x, 2, u).add(&r.mul(&hd)?.matmul(&kh)?)?
                };
                let hh = cand.tanh()?;
                let one_minus_z = z.neg()?.add_scalar(1.0)?;
                (z.mul(&h)?.add(&one_minus_z.mul(&hh)?)?, c.clone())
            }
        };
        let (hn, cn) = match mask {
            Some(m) => {
                let keep = m.slice(1, t, t + 1)?.ne(&Tensor::scalar(0.0f64))?;
                (hn.where_cond_of(&keep, &h)?, cn.where_cond_of(&keep, &c)?)
            }
            None => (hn, cn),
        };
        (h, c) = (hn, cn);
        outs.push(match kind {
            CellKind::Lstm => Tensor::concat(&[h.clone(), c.clone()], -1)?,
            _ => h.clone(),
        });
    }
    Tensor::stack(&outs, 1)
}

struct Case {
    xw: Tensor,
    k: Tensor,
    h0: Tensor,
    c0: Tensor,
    rb: Tensor,
    mask: Tensor,
}

fn case(g: &mut Generator, kind: CellKind, batch: usize, steps: usize, u: usize) -> Case {
    let w = kind.gates() * u;
    let scale = |t: Tensor, s: f64| t.mul_scalar(s).unwrap();
    // Padding at the end of the first sequence and in the middle of the last.
    let mut mask = vec![1.0f64; batch * steps];
    mask[steps - 1] = 0.0;
    mask[steps - 2] = 0.0;
    mask[(batch - 1) * steps + 1] = 0.0;
    Case {
        xw: randn(g, &[batch, steps, w]),
        // A contracting recurrence: rounding differences must not grow from step to step.
        k: scale(randn(g, &[u, w]), 1.0 / (u as f64).sqrt()),
        h0: scale(randn(g, &[batch, u]), 0.5),
        c0: scale(randn(g, &[batch, u]), 0.5),
        rb: scale(randn(g, &[w]), 0.5),
        mask: Tensor::from_vec(mask, &[batch, steps]).unwrap(),
    }
}

fn run(kind: CellKind, t: &[Tensor], mask: Option<&Tensor>) -> Result<Tensor> {
    let extras = RecurrentExtras {
        c0: (kind == CellKind::Lstm).then_some(&t[3]),
        recurrent_bias: (kind == CellKind::Gru { reset_after: true }).then_some(&t[4]),
        mask,
        ..Default::default()
    };
    t[0].recurrence(&cell(kind), &t[1], &t[2], extras)
}

fn inputs(c: &Case) -> Vec<Tensor> {
    vec![
        c.xw.clone(),
        c.k.clone(),
        c.h0.clone(),
        c.c0.clone(),
        c.rb.clone(),
    ]
}

#[test]
fn every_cell_matches_its_formulas_step_by_step() {
    let mut g = Generator::new(3);
    for kind in KINDS {
        for masked in [false, true] {
            let c = case(&mut g, kind, 3, 5, 4);
            let mask = masked.then_some(&c.mask);
            let got = run(kind, &inputs(&c), mask).unwrap();
            let rb = (kind == CellKind::Gru { reset_after: true }).then_some(&c.rb);
            let want = reference(kind, &c.xw, &c.k, &c.h0, &c.c0, (rb, mask, None)).unwrap();
            assert_eq!(got.shape(), want.shape(), "{kind:?}");
            let (a, b) = (got.to_vec::<f64>().unwrap(), want.to_vec::<f64>().unwrap());
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!(
                    (x - y).abs() < 1e-12,
                    "{kind:?} masked={masked} [{i}]: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn every_cell_has_the_gradients_of_its_values_padding_included() {
    let mut g = Generator::new(4);
    for kind in KINDS {
        let c = case(&mut g, kind, 3, 4, 3);
        // Only the inputs this cell takes: xw, the kernel, h0, then c0 or the GRU's bias.
        let mut xs = vec![c.xw.clone(), c.k.clone(), c.h0.clone()];
        match kind {
            CellKind::Lstm => xs.push(c.c0.clone()),
            CellKind::Gru { reset_after: true } => xs.push(c.rb.clone()),
            _ => {}
        }
        let mask = c.mask.clone();
        check_gradients(&format!("{kind:?}"), &xs, |t| {
            let mut all = t.to_vec();
            all.resize(5, c.rb.clone());
            if kind == (CellKind::Gru { reset_after: true }) {
                all[4] = t[3].clone();
            }
            run(kind, &all, Some(&mask))
        });
    }
}

#[test]
fn a_batch_split_between_threads_computes_what_one_piece_does() {
    // 64 sequences of 40 steps of 32 units: large enough to be split; each row alone is not.
    let mut g = Generator::new(5);
    for kind in KINDS {
        let c = case(&mut g, kind, 64, 40, 32);
        let all = inputs(&c);
        let whole = all
            .iter()
            .map(|t| t.detach().set_requires_grad(true).unwrap())
            .collect::<Vec<_>>();
        let y = run(kind, &whole, Some(&c.mask)).unwrap();
        let w = g.normal(y.shape(), 0.0, 1.0, DType::F64).unwrap();
        let grads = y
            .mul(&w)
            .unwrap()
            .sum(&[], false)
            .unwrap()
            .backward()
            .unwrap();
        let dk = grads.get(&whole[1]).unwrap().to_vec::<f64>().unwrap();
        // Each row alone: its outputs are the batch's row, and the kernel's gradient (a sum
        // over rows) is the sum of the rows' gradients.
        let mut dk_rows = vec![0.0; dk.len()];
        for row in 0..64 {
            let one: Vec<Tensor> = all
                .iter()
                .enumerate()
                .map(|(i, t)| match i {
                    1 | 4 => t.detach().set_requires_grad(true).unwrap(),
                    _ => t.slice(0, row, row + 1).unwrap(),
                })
                .collect();
            let m = c.mask.slice(0, row, row + 1).unwrap();
            let yr = run(kind, &one, Some(&m)).unwrap();
            let want = y.slice(0, row, row + 1).unwrap().to_vec::<f64>().unwrap();
            let got = yr.to_vec::<f64>().unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{kind:?} row {row}: {a} vs {b}");
            }
            let wr = w.slice(0, row, row + 1).unwrap();
            let gr = yr
                .mul(&wr)
                .unwrap()
                .sum(&[], false)
                .unwrap()
                .backward()
                .unwrap();
            let d = gr.get(&one[1]).unwrap().to_vec::<f64>().unwrap();
            dk_rows.iter_mut().zip(&d).for_each(|(a, b)| *a += b);
        }
        for (a, b) in dk.iter().zip(&dk_rows) {
            assert!(
                (a - b).abs() < 1e-11 * (1.0 + b.abs()),
                "{kind:?}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn bad_shapes_are_named() {
    let x = Tensor::zeros(&[2, 3, 8], DType::F32);
    let k = Tensor::zeros(&[2, 8], DType::F32);
    let h0 = Tensor::zeros(&[2, 2], DType::F32);
    let lstm = cell(CellKind::Lstm);
    assert!(x
        .recurrence(
            &lstm,
            &Tensor::zeros(&[3, 8], DType::F32),
            &h0,
            Default::default()
        )
        .unwrap_err()
        .to_string()
        .contains("recurrent kernel"));
    let gru = cell(CellKind::Gru { reset_after: true });
    let e = Tensor::zeros(&[2, 3, 7], DType::F32)
        .recurrence(&gru, &k, &h0, Default::default())
        .unwrap_err();
    assert!(e.to_string().contains("gate blocks"), "{e}");
    let bad_mask = Tensor::zeros(&[2, 4], DType::F32);
    let e = x
        .recurrence(
            &lstm,
            &k,
            &h0,
            RecurrentExtras {
                mask: Some(&bad_mask),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("mask"), "{e}");
}

#[test]
fn an_input_bias_and_the_last_step_alone_are_the_full_ops_and_have_its_gradients() {
    let mut g = Generator::new(6);
    for kind in KINDS {
        let c = case(&mut g, kind, 3, 4, 3);
        let b = randn(&mut g, &[kind.gates() * 3]);
        let full = run(
            kind,
            &[
                c.xw.add(&b).unwrap(),
                c.k.clone(),
                c.h0.clone(),
                c.c0.clone(),
                c.rb.clone(),
            ],
            Some(&c.mask),
        )
        .unwrap();
        fn extras<'a>(
            kind: CellKind,
            c: &'a Case,
            b: &'a Tensor,
            last_only: bool,
        ) -> RecurrentExtras<'a> {
            RecurrentExtras {
                c0: (kind == CellKind::Lstm).then_some(&c.c0),
                recurrent_bias: (kind == CellKind::Gru { reset_after: true }).then_some(&c.rb),
                mask: Some(&c.mask),
                input_bias: Some(b),
                last_only,
                state_keep: None,
                input_kernel: None,
            }
        }
        let xs = [c.xw.clone(), c.k.clone(), c.h0.clone(), b.clone()];
        let with_bias =
            c.xw.recurrence(&cell(kind), &c.k, &c.h0, extras(kind, &c, &b, false))
                .unwrap();
        let last =
            c.xw.recurrence(&cell(kind), &c.k, &c.h0, extras(kind, &c, &b, true))
                .unwrap();
        let close = |a: &Tensor, b: &Tensor| {
            assert_eq!(a.shape(), b.shape(), "{kind:?}");
            for (x, y) in a
                .to_vec::<f64>()
                .unwrap()
                .iter()
                .zip(b.to_vec::<f64>().unwrap())
            {
                assert!((x - y).abs() < 1e-12, "{kind:?}: {x} vs {y}");
            }
        };
        close(&with_bias, &full);
        close(&last, &full.slice(1, 3, 4).unwrap().squeeze(1).unwrap());
        check_gradients(&format!("{kind:?} last step, input bias"), &xs, |t| {
            t[0].recurrence(&cell(kind), &t[1], &t[2], extras(kind, &c, &t[3], true))
        });
    }
}

#[test]
fn recurrent_dropout_scales_what_the_products_see_and_has_its_gradients() {
    let mut g = Generator::new(8);
    for kind in KINDS {
        let c = case(&mut g, kind, 3, 4, 3);
        // Units dropped (0) or kept and scaled (1 / (1 - 0.4)), per sequence.
        let keep = Tensor::from_vec(
            vec![
                0.0f64,
                1.0 / 0.6,
                1.0 / 0.6,
                1.0 / 0.6,
                0.0,
                1.0 / 0.6,
                1.0 / 0.6,
                1.0 / 0.6,
                0.0,
            ],
            &[3, 3],
        )
        .unwrap();
        let rb = (kind == CellKind::Gru { reset_after: true }).then_some(&c.rb);
        let run_with = |t: &[Tensor]| {
            t[0].recurrence(
                &cell(kind),
                &t[1],
                &t[2],
                RecurrentExtras {
                    c0: (kind == CellKind::Lstm).then_some(&c.c0),
                    recurrent_bias: rb,
                    mask: Some(&c.mask),
                    state_keep: Some(&keep),
                    ..Default::default()
                },
            )
        };
        let xs = [c.xw.clone(), c.k.clone(), c.h0.clone()];
        let got = run_with(&xs).unwrap();
        let want = reference(
            kind,
            &c.xw,
            &c.k,
            &c.h0,
            &c.c0,
            (rb, Some(&c.mask), Some(&keep)),
        )
        .unwrap();
        for (a, b) in got
            .to_vec::<f64>()
            .unwrap()
            .iter()
            .zip(want.to_vec::<f64>().unwrap())
        {
            assert!((a - b).abs() < 1e-12, "{kind:?}: {a} vs {b}");
        }
        check_gradients(&format!("{kind:?} recurrent dropout"), &xs, run_with);
    }
}

#[test]
fn an_input_kernel_projects_inside_the_loop_as_the_product_before_it_does() {
    let mut g = Generator::new(9);
    for kind in KINDS {
        let c = case(&mut g, kind, 5, 6, 3);
        let x = randn(&mut g, &[5, 6, 4]);
        let w = randn(&mut g, &[4, kind.gates() * 3]);
        let b = randn(&mut g, &[kind.gates() * 3]);
        fn extras<'a>(
            kind: CellKind,
            c: &'a Case,
            b: &'a Tensor,
            input_kernel: Option<&'a Tensor>,
        ) -> RecurrentExtras<'a> {
            RecurrentExtras {
                c0: (kind == CellKind::Lstm).then_some(&c.c0),
                recurrent_bias: (kind == CellKind::Gru { reset_after: true }).then_some(&c.rb),
                mask: Some(&c.mask),
                input_bias: Some(b),
                input_kernel,
                ..Default::default()
            }
        }
        let want = x
            .matmul(&w)
            .unwrap()
            .recurrence(&cell(kind), &c.k, &c.h0, extras(kind, &c, &b, None))
            .unwrap();
        let got = rill_core::no_grad(|| {
            x.recurrence(&cell(kind), &c.k, &c.h0, extras(kind, &c, &b, Some(&w)))
        })
        .unwrap();
        for (a, b) in got
            .to_vec::<f64>()
            .unwrap()
            .iter()
            .zip(want.to_vec::<f64>().unwrap())
        {
            assert!((a - b).abs() < 1e-12, "{kind:?}: {a} vs {b}");
        }
        // With gradients recorded it is the product first, and W gets its gradient.
        check_gradients(
            &format!("{kind:?} input kernel"),
            &[x.clone(), w.clone()],
            |t| t[0].recurrence(&cell(kind), &c.k, &c.h0, extras(kind, &c, &b, Some(&t[1]))),
        );
    }
}
