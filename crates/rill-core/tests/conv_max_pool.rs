//! `conv2d_max_pool2d` against `conv2d` then `max_pool2d`: the same values and kernel gradient
//! where it computes them directly, exactly the composed ops where it does not.

use rill_core::backend::cpu::{isa, Isa};
use rill_core::{Conv2dOptions, DType, Generator, Padding, Tensor};

/// The pooled values and the kernel's gradient of `sum(pooled · weights)`.
fn run(
    x: &Tensor,
    k: &Tensor,
    conv: &Conv2dOptions,
    fused: bool,
) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    let k = k.detach().set_requires_grad(true).unwrap();
    let pooled = if fused {
        x.conv2d_max_pool2d(&k, conv, (2, 2), (2, 2), Padding::Valid)
    } else {
        x.conv2d(&k, conv)
            .and_then(|y| y.max_pool2d((2, 2), (2, 2), Padding::Valid))
    }
    .unwrap();
    let weights = Generator::new(5)
        .uniform(pooled.shape(), 0.5, 1.5, pooled.dtype())
        .unwrap();
    let grads = pooled
        .mul(&weights)
        .unwrap()
        .sum(&[], false)
        .unwrap()
        .backward()
        .unwrap();
    let values = |t: &Tensor| t.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
    (
        values(&pooled),
        values(grads.get(&k).unwrap()),
        grads.get(x).map(values),
    )
}

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (a, b)) in a.iter().zip(b).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{what} {i}: {a} against {b}"
        );
    }
}

/// An image batch (with a zero band, where outputs tie) and a kernel.
fn inputs(shape: [usize; 4], kernel: [usize; 4], dtype: DType) -> (Tensor, Tensor) {
    let mut gen = Generator::new(21);
    let x = gen.normal(&shape, 0.0, 1.0, DType::F32).unwrap();
    let band = Tensor::from_vec(
        (0..shape[1])
            .map(|y| if y < 3 { 0.0f32 } else { 1.0 })
            .collect(),
        &[1, shape[1], 1, 1],
    )
    .unwrap();
    let x = x.mul(&band).unwrap().to_dtype(dtype).unwrap();
    let k = gen.normal(&kernel, 0.0, 0.3, dtype).unwrap();
    (x, k)
}

#[test]
fn direct_values_and_kernel_gradient_match_the_composed_ops() {
    let same = Conv2dOptions {
        padding: Padding::Same,
        ..Default::default()
    };
    let strided = Conv2dOptions {
        strides: (2, 1),
        ..Default::default()
    };
    let cases = [
        ([4, 28, 28, 1], [3, 3, 1, 32], same),
        ([3, 11, 9, 3], [3, 3, 3, 20], Conv2dOptions::default()),
        ([2, 15, 12, 2], [3, 3, 2, 17], strided),
    ];
    for (shape, kernel, conv) in cases {
        let (x, k) = inputs(shape, kernel, DType::F32);
        let (values, dk, dx) = run(&x, &k, &conv, true);
        let (want_values, want_dk, _) = run(&x, &k, &conv, false);
        let what = format!("{shape:?} {kernel:?}");
        close(&values, &want_values, &format!("{what} values"));
        close(&dk, &want_dk, &format!("{what} kernel gradient"));
        assert!(dx.is_none(), "{what}: the input asked for no gradient");
    }
}

#[test]
fn the_direct_op_runs_where_it_applies_and_the_composed_ops_elsewhere() {
    let (x, k) = inputs([2, 8, 8, 1], [3, 3, 1, 16], DType::F32);
    rill_core::profile::enable_trace();
    x.conv2d_max_pool2d(
        &k,
        &Conv2dOptions::default(),
        (2, 2),
        (2, 2),
        Padding::Valid,
    )
    .unwrap();
    let (_, events) = rill_core::profile::take_with_trace();
    let names: Vec<_> = events.iter().map(|e| e.name).collect();
    if isa() >= Isa::Avx2 {
        assert_eq!(names, ["conv2d_max_pool2d"]);
    } else {
        assert_eq!(names, ["conv2d", "max_pool2d"]);
    }
}

/// An input that wants its gradient, f64, a window of 36 values, a 3×3 pool or a pool with
/// stride 1: each the two ops, to the bit, with the input's gradient where asked.
#[test]
fn elsewhere_the_result_is_the_composed_ops_to_the_bit() {
    let conv = Conv2dOptions::default();
    let (x, k) = inputs([2, 9, 9, 1], [3, 3, 1, 16], DType::F32);
    let x_grad = x.detach().set_requires_grad(true).unwrap();
    let (v, dk, dx) = run(&x_grad, &k, &conv, true);
    assert_eq!((v, dk, dx), run(&x_grad, &k, &conv, false));
    let (x64, k64) = inputs([2, 9, 9, 1], [3, 3, 1, 16], DType::F64);
    assert_eq!(run(&x64, &k64, &conv, true), run(&x64, &k64, &conv, false));
    let (x4, k4) = inputs([2, 9, 9, 4], [3, 3, 4, 16], DType::F32);
    assert_eq!(run(&x4, &k4, &conv, true), run(&x4, &k4, &conv, false));
    for (pool, strides) in [((3, 3), (2, 2)), ((2, 2), (1, 1))] {
        let fused = x
            .conv2d_max_pool2d(&k, &conv, pool, strides, Padding::Valid)
            .unwrap();
        let composed = x
            .conv2d(&k, &conv)
            .unwrap()
            .max_pool2d(pool, strides, Padding::Valid)
            .unwrap();
        assert_eq!(
            fused.to_vec::<f32>().unwrap(),
            composed.to_vec::<f32>().unwrap()
        );
    }
}

#[test]
fn bad_shapes_get_the_composed_ops_errors() {
    let (x, _) = inputs([2, 8, 8, 1], [3, 3, 1, 16], DType::F32);
    let wrong = Tensor::zeros(&[3, 3, 2, 16], DType::F32);
    let err = x
        .conv2d_max_pool2d(
            &wrong,
            &Conv2dOptions::default(),
            (2, 2),
            (2, 2),
            Padding::Valid,
        )
        .unwrap_err();
    assert!(err.to_string().contains("channels"), "{err}");
    let tiny = Tensor::zeros(&[1, 2, 2, 1], DType::F32);
    let k = Tensor::zeros(&[3, 3, 1, 4], DType::F32);
    assert!(tiny
        .conv2d_max_pool2d(
            &k,
            &Conv2dOptions::default(),
            (2, 2),
            (2, 2),
            Padding::Valid
        )
        .is_err());
}
