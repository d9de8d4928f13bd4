//! A finite-difference gradient check in f64 for every differentiable op.
// `&[x.clone()]` reads as "these inputs" in every case; `slice::from_ref` would obscure that.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;
use common::{check_gradients, check_gradients_with, randn, uniform};
use rill_core::{Conv2dOptions, DType, Generator, Padding, Tensor};

fn gen() -> Generator {
    Generator::new(7)
}

/// Values away from 0 so kinked functions (relu, abs, clip) are differentiable where sampled.
fn away_from_zero(g: &mut Generator, shape: &[usize]) -> Tensor {
    let x = uniform(g, shape, 0.1, 2.0);
    let sign = uniform(g, shape, -1.0, 1.0)
        .ge(&Tensor::scalar(0.0f64))
        .unwrap();
    x.where_cond_of(&sign, &x.neg().unwrap()).unwrap()
}

#[test]
fn unary_ops() {
    let mut g = gen();
    let x = away_from_zero(&mut g, &[3, 4]);
    let pos = uniform(&mut g, &[3, 4], 0.2, 3.0);
    check_gradients("neg", &[x.clone()], |t| t[0].neg());
    check_gradients("abs", &[x.clone()], |t| t[0].abs());
    check_gradients("exp", &[x.clone()], |t| t[0].exp());
    check_gradients("log", &[pos.clone()], |t| t[0].log());
    check_gradients("sqrt", &[pos.clone()], |t| t[0].sqrt());
    check_gradients("square", &[x.clone()], |t| t[0].square());
    check_gradients("relu", &[x.clone()], |t| t[0].relu());
    check_gradients("leaky_relu", &[x.clone()], |t| t[0].leaky_relu(0.2));
    check_gradients("elu", &[x.clone()], |t| t[0].elu(1.3));
    check_gradients("gelu", &[x.clone()], |t| t[0].gelu());
    check_gradients("sigmoid", &[x.clone()], |t| t[0].sigmoid());
    check_gradients("tanh", &[x.clone()], |t| t[0].tanh());
    check_gradients("softplus", &[x.clone()], |t| t[0].softplus());
    check_gradients("erf", &[x.clone()], |t| t[0].erf());
    check_gradients("clip", &[x.clone()], |t| {
        t[0].clip(-0.05, 0.05)
            .and_then(|c| c.add(&t[0].clip(-1.0, 1.0)?))
    });
}

#[test]
fn binary_ops_with_broadcasting() {
    let mut g = gen();
    let cases: [(&[usize], &[usize]); 4] = [
        (&[2, 3], &[2, 3]),
        (&[2, 3], &[3]),
        (&[2, 1], &[1, 3]),
        (&[4, 2, 3], &[2, 1]),
    ];
    for (sa, sb) in cases {
        let a = randn(&mut g, sa);
        let b = randn(&mut g, sb);
        let bpos = uniform(&mut g, sb, 0.5, 2.0);
        check_gradients("add", &[a.clone(), b.clone()], |t| t[0].add(&t[1]));
        check_gradients("sub", &[a.clone(), b.clone()], |t| t[0].sub(&t[1]));
        check_gradients("mul", &[a.clone(), b.clone()], |t| t[0].mul(&t[1]));
        check_gradients("div", &[a.clone(), bpos.clone()], |t| t[0].div(&t[1]));
        check_gradients("maximum", &[a.clone(), b.clone()], |t| t[0].maximum(&t[1]));
        check_gradients("minimum", &[a.clone(), b.clone()], |t| t[0].minimum(&t[1]));
        let base = uniform(&mut g, sa, 0.5, 2.0);
        check_gradients("pow", &[base, b.clone()], |t| t[0].pow(&t[1]));
    }
    let a = randn(&mut g, &[3]);
    check_gradients("scalar ops", &[a], |t| {
        t[0].mul_scalar(3.0)?
            .add_scalar(1.0)?
            .div_scalar(2.0)?
            .sub_scalar(0.5)
    });
}

#[test]
fn where_and_cast() {
    let mut g = gen();
    let a = randn(&mut g, &[2, 3]);
    let b = randn(&mut g, &[3]);
    let cond = Tensor::from_vec(vec![true, false, true, false, false, true], &[2, 3]).unwrap();
    check_gradients("where", &[a.clone(), b], |t| {
        Tensor::where_cond(&cond, &t[0], &t[1])
    });
    // Through f32 the values lose precision, so a wider step and tolerance.
    check_gradients_with("cast", &[a.clone()], 1e-2, 1e-4, 1e-3, |t| {
        t[0].to_dtype(DType::F32)?.square()?.to_dtype(DType::F64)
    });
    check_gradients_with("to_f32_scaled", &[a], 1e-2, 1e-4, 1e-3, |t| {
        t[0].to_f32_scaled(-0.75, 0.5)?
            .square()?
            .to_dtype(DType::F64)
    });
}

#[test]
fn reductions_over_several_axes() {
    let mut g = gen();
    let x = randn(&mut g, &[2, 3, 4]);
    for axes in [&[][..], &[0], &[1], &[2], &[-1], &[0, 2], &[0, 1], &[1, 2]] {
        for keep in [false, true] {
            check_gradients("sum", &[x.clone()], |t| t[0].sum(axes, keep));
            check_gradients("mean", &[x.clone()], |t| t[0].mean(axes, keep));
            check_gradients("max", &[x.clone()], |t| t[0].max(axes, keep));
            check_gradients("min", &[x.clone()], |t| t[0].min(axes, keep));
            check_gradients("variance", &[x.clone()], |t| t[0].variance(axes, keep));
            check_gradients("logsumexp", &[x.clone()], |t| t[0].logsumexp(axes, keep));
        }
    }
}

#[test]
fn matmul_plain_transposed_and_batched() {
    let mut g = gen();
    let a = randn(&mut g, &[3, 4]);
    let b = randn(&mut g, &[4, 5]);
    check_gradients("matmul", &[a.clone(), b.clone()], |t| t[0].matmul(&t[1]));
    let bt = randn(&mut g, &[5, 4]);
    check_gradients("matmul (transposed view)", &[a.clone(), bt], |t| {
        t[0].matmul(&t[1].transpose(0, 1)?)
    });
    let batched = randn(&mut g, &[2, 3, 4]);
    check_gradients(
        "batched matmul (broadcast rhs)",
        &[batched, b.clone()],
        |t| t[0].matmul(&t[1]),
    );
    let l = randn(&mut g, &[2, 1, 3, 4]);
    let r = randn(&mut g, &[3, 4, 2]);
    check_gradients("batched matmul (both broadcast)", &[l, r], |t| {
        t[0].matmul(&t[1])
    });
}

#[test]
fn shape_ops() {
    let mut g = gen();
    let x = randn(&mut g, &[2, 3, 4]);
    check_gradients("reshape", &[x.clone()], |t| t[0].reshape(&[6, 4]));
    check_gradients("flatten", &[x.clone()], |t| t[0].flatten_from(1));
    check_gradients("permute", &[x.clone()], |t| t[0].permute(&[2, 0, 1]));
    check_gradients("transpose+reshape", &[x.clone()], |t| {
        t[0].transpose(0, 2)?.reshape(&[4, 6])
    });
    check_gradients("unsqueeze/squeeze", &[x.clone()], |t| {
        t[0].unsqueeze(1)?.mul_scalar(2.0)?.squeeze(1)
    });
    let row = randn(&mut g, &[1, 4]);
    check_gradients("broadcast_to", &[row], |t| {
        t[0].broadcast_to(&[3, 4])?
            .contiguous()
            .mul(&Tensor::arange(0.0, 12.0, 1.0, DType::F64)?.reshape(&[3, 4])?)
    });
    check_gradients("slice", &[x.clone()], |t| t[0].slice(1, 1, 3));
    check_gradients("slice last", &[x.clone()], |t| t[0].slice(-1, 0, 2));
    let idx = Tensor::from_vec(vec![2i64, 0, 2], &[3]).unwrap();
    check_gradients("index_select", &[x.clone()], |t| t[0].index_select(1, &idx));
    let gidx = Tensor::from_vec(vec![3i64, 0, 1, 1, 2, 0], &[2, 3, 1]).unwrap();
    check_gradients("gather", &[x.clone()], |t| t[0].gather(2, &gidx));
    let y = randn(&mut g, &[2, 1, 4]);
    check_gradients("concat", &[x.clone(), y], |t| {
        Tensor::concat(&[t[0].clone(), t[1].clone()], 1)
    });
    let z = randn(&mut g, &[2, 3, 4]);
    check_gradients("stack", &[x.clone(), z], |t| {
        Tensor::stack(&[t[0].clone(), t[1].clone()], 1)
    });
    check_gradients("pad", &[x.clone()], |t| {
        t[0].pad(&[(0, 1), (2, 0), (1, 1)], 0.5)
    });
    check_gradients("contiguous", &[x], |t| {
        Ok(t[0].transpose(1, 2)?.contiguous())
    });
}

#[test]
fn softmax_family() {
    let mut g = gen();
    let x = randn(&mut g, &[3, 5]);
    for axis in [-1, 0] {
        check_gradients("softmax", &[x.clone()], |t| t[0].softmax(axis));
        check_gradients("log_softmax", &[x.clone()], |t| t[0].log_softmax(axis));
    }
    let labels = Tensor::from_vec(vec![4u8, 0, 2], &[3]).unwrap();
    check_gradients("sparse_softmax_cross_entropy", &[x.clone()], |t| {
        t[0].sparse_softmax_cross_entropy(&labels)
    });
    // Leading axes beyond the batch: logits [2, 3, 5], labels [2, 3].
    let x3 = randn(&mut g, &[2, 3, 5]);
    let labels3 = Tensor::from_vec(vec![0i64, 1, 2, 3, 4, 4], &[2, 3]).unwrap();
    check_gradients("sparse_softmax_cross_entropy rank 3", &[x3], |t| {
        t[0].sparse_softmax_cross_entropy(&labels3)
    });
}

#[test]
fn convolution_with_strides_padding_and_dilation() {
    let mut g = gen();
    let x = randn(&mut g, &[2, 6, 5, 3]);
    let k = randn(&mut g, &[3, 2, 3, 4]);
    for (strides, padding, dilation) in [
        ((1, 1), Padding::Valid, (1, 1)),
        ((1, 1), Padding::Same, (1, 1)),
        ((2, 2), Padding::Same, (1, 1)),
        ((2, 1), Padding::Valid, (1, 1)),
        ((1, 1), Padding::Same, (2, 2)),
    ] {
        let o = Conv2dOptions {
            strides,
            padding,
            dilation,
        };
        check_gradients("conv2d", &[x.clone(), k.clone()], |t| {
            t[0].conv2d(&t[1], &o)
        });
    }
    check_gradients("extract_patches", &[x], |t| {
        t[0].extract_patches(
            2,
            2,
            &Conv2dOptions {
                strides: (2, 2),
                padding: Padding::Same,
                dilation: (1, 1),
            },
        )
    });
}

#[test]
fn pooling() {
    // Distinct values keep each window's maximum unique, where max pooling is differentiable.
    let vals: Vec<f64> = (0..2 * 5 * 5 * 3)
        .map(|i| ((i * 37) % 150) as f64 * 0.1 - 7.0)
        .collect();
    let x = Tensor::from_vec(vals, &[2, 5, 5, 3]).unwrap();
    for (pool, strides, padding) in [
        ((2, 2), (2, 2), Padding::Valid),
        ((2, 2), (2, 2), Padding::Same),
        ((3, 3), (1, 1), Padding::Same),
        ((3, 2), (2, 1), Padding::Valid),
    ] {
        check_gradients("max_pool2d", &[x.clone()], |t| {
            t[0].max_pool2d(pool, strides, padding)
        });
        check_gradients("avg_pool2d", &[x.clone()], |t| {
            t[0].avg_pool2d(pool, strides, padding)
        });
    }
}

#[test]
fn composite_expression_shares_subterms() {
    // A value used twice must receive the sum of both gradients.
    let mut g = gen();
    let x = randn(&mut g, &[4]);
    check_gradients("x*x + sigmoid(x)", &[x], |t| {
        t[0].mul(&t[0])?.add(&t[0].sigmoid()?)
    });
}

#[test]
fn fused_bias_relu() {
    let mut g = gen();
    let x = away_from_zero(&mut g, &[2, 3, 4]);
    // Small enough that x + b keeps away from the kink at 0.
    let b = uniform(&mut g, &[4], -0.05, 0.05);
    check_gradients("bias_relu", &[x, b], |t| t[0].bias_relu(&t[1]));
}

#[test]
fn fused_bias_relu_matches_add_then_relu_on_the_parallel_path() {
    // 42,000 values: above the size at which the kernels split work between threads.
    let mut g = gen();
    let x = randn(&mut g, &[70, 30, 20])
        .set_requires_grad(true)
        .unwrap();
    let b = randn(&mut g, &[20]).set_requires_grad(true).unwrap();
    let w = randn(&mut g, &[70, 30, 20]);
    let fused = x.bias_relu(&b).unwrap();
    let plain = x.add(&b).unwrap().relu().unwrap();
    assert_eq!(
        fused.to_vec::<f64>().unwrap(),
        plain.to_vec::<f64>().unwrap()
    );
    let loss = |y: &Tensor| y.mul(&w).unwrap().sum(&[], false).unwrap();
    let (gf, gp) = (
        loss(&fused).backward().unwrap(),
        loss(&plain).backward().unwrap(),
    );
    for t in [&x, &b] {
        let (a, e) = (gf.get(t).unwrap(), gp.get(t).unwrap());
        for (a, e) in a
            .to_vec::<f64>()
            .unwrap()
            .iter()
            .zip(e.to_vec::<f64>().unwrap())
        {
            assert!((a - e).abs() <= 1e-9 * (1.0 + e.abs()), "{a} vs {e}");
        }
    }
    assert!(x.bias_relu(&Tensor::zeros(&[3], DType::F64)).is_err());
}

#[test]
fn batch_norm_gradients() {
    let mut g = gen();
    // Channels with different means and spreads; the variance is far above epsilon.
    let x = randn(&mut g, &[3, 2, 4])
        .mul(&uniform(&mut g, &[4], 0.5, 3.0))
        .unwrap()
        .add(&uniform(&mut g, &[4], -2.0, 2.0))
        .unwrap();
    let gamma = uniform(&mut g, &[4], 0.5, 1.5);
    let beta = uniform(&mut g, &[4], -0.5, 0.5);
    let inputs = [x, gamma, beta];
    check_gradients("batch_norm", &inputs, |t| {
        Ok(t[0].batch_norm(&t[1], &t[2], 1e-3)?.0)
    });
    // About half the normalized values are negative, so the ReLU's mask matters.
    check_gradients("batch_norm_relu", &inputs, |t| {
        Ok(t[0].batch_norm_relu(&t[1], &t[2], 1e-3)?.0)
    });
}

/// The fused op against the same formula written with separate ops, on a batch large enough
/// to be split between threads: values, statistics and all three gradients, with and without
/// the ReLU.
#[test]
fn batch_norm_matches_the_composed_formula_on_the_parallel_path() {
    for relu in [false, true] {
        batch_norm_against_separate_ops(relu);
    }
}

fn batch_norm_against_separate_ops(relu: bool) {
    let mut g = gen();
    let x = randn(&mut g, &[64, 9, 9, 16])
        .add(&uniform(&mut g, &[16], -3.0, 3.0))
        .unwrap()
        .set_requires_grad(true)
        .unwrap();
    let gamma = uniform(&mut g, &[16], 0.5, 1.5)
        .set_requires_grad(true)
        .unwrap();
    let beta = uniform(&mut g, &[16], -0.5, 0.5)
        .set_requires_grad(true)
        .unwrap();
    let w = randn(&mut g, &[64, 9, 9, 16]);
    let (fused, mean, variance) = if relu {
        x.batch_norm_relu(&gamma, &beta, 1e-3).unwrap()
    } else {
        x.batch_norm(&gamma, &beta, 1e-3).unwrap()
    };
    let axes = [0, 1, 2];
    let (m, v) = (
        x.mean(&axes, false).unwrap(),
        x.variance(&axes, false).unwrap(),
    );
    let plain = x
        .sub(&m)
        .unwrap()
        .div(&v.add_scalar(1e-3).unwrap().sqrt().unwrap())
        .unwrap()
        .mul(&gamma)
        .unwrap()
        .add(&beta)
        .unwrap();
    let plain = if relu { plain.relu().unwrap() } else { plain };
    if relu {
        let zeros = fused.to_f64_vec().iter().filter(|&&v| v == 0.0).count();
        assert!(
            zeros > fused.numel() / 5,
            "the ReLU cut only {zeros} values"
        );
    }
    let close = |a: &Tensor, e: &Tensor| {
        for (a, e) in a.to_f64_vec().iter().zip(e.to_f64_vec()) {
            assert!((a - e).abs() <= 1e-9 * (1.0 + e.abs()), "{a} vs {e}");
        }
    };
    close(&fused, &plain);
    close(&mean, &m);
    close(&variance, &v);
    assert!(!mean.requires_grad() && !variance.requires_grad());
    let loss = |y: &Tensor| y.mul(&w).unwrap().sum(&[], false).unwrap();
    let (gf, gp) = (
        loss(&fused).backward().unwrap(),
        loss(&plain).backward().unwrap(),
    );
    for t in [&x, &gamma, &beta] {
        close(gf.get(t).unwrap(), gp.get(t).unwrap());
    }
    // Wrong shapes, dtypes and epsilon are errors, not panics.
    let c3 = Tensor::ones(&[3], DType::F64);
    assert!(x.batch_norm(&c3, &beta, 1e-3).is_err());
    assert!(x.batch_norm(&gamma, &c3, 1e-3).is_err());
    assert!(x
        .batch_norm(&gamma.to_dtype(DType::F32).unwrap(), &beta, 1e-3)
        .is_err());
    assert!(x.batch_norm(&gamma, &beta, f64::NAN).is_err());
    assert!(x.batch_norm_relu(&c3, &beta, 1e-3).is_err());
    assert!(Tensor::zeros(&[0, 16], DType::F64)
        .batch_norm(&gamma, &beta, 1e-3)
        .is_err());
}
