//! Creation, dtypes, views, errors, no-grad mode and graph lifetime.

use rill_core::{no_grad, set_seed, DType, Error, Tensor};

#[test]
fn creation_functions() {
    assert_eq!(
        Tensor::zeros(&[2, 3], DType::F32).to_vec::<f32>().unwrap(),
        vec![0.0; 6]
    );
    assert_eq!(
        Tensor::ones(&[2], DType::I32).to_vec::<i32>().unwrap(),
        vec![1, 1]
    );
    assert_eq!(
        Tensor::full(&[2], 7.5, DType::F64).to_vec::<f64>().unwrap(),
        vec![7.5, 7.5]
    );
    assert_eq!(
        Tensor::arange(1.0, 2.0, 0.25, DType::F32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![1.0, 1.25, 1.5, 1.75]
    );
    assert_eq!(
        Tensor::linspace(0.0, 1.0, 5, DType::F64)
            .to_vec::<f64>()
            .unwrap(),
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    assert_eq!(
        Tensor::eye(2, DType::U8).to_vec::<u8>().unwrap(),
        vec![1, 0, 0, 1]
    );
    assert!(Tensor::arange(0.0, 1.0, 0.0, DType::F32).is_err());
    let err = Tensor::from_vec(vec![1.0f32; 5], &[2, 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "from_vec: shape [2, 3] needs 6 elements, found 5"
    );
}

#[test]
fn seeded_random_is_reproducible_and_shaped() {
    set_seed(42);
    let a = Tensor::randn(&[1000], 0.0, 1.0, DType::F32).unwrap();
    let u = Tensor::rand_uniform(&[1000], -1.0, 1.0, DType::F64).unwrap();
    set_seed(42);
    let b = Tensor::randn(&[1000], 0.0, 1.0, DType::F32).unwrap();
    assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    let mean = a.mean(&[], false).unwrap().item::<f32>().unwrap();
    let std = a
        .variance(&[], false)
        .unwrap()
        .item::<f32>()
        .unwrap()
        .sqrt();
    assert!(
        mean.abs() < 0.1 && (std - 1.0).abs() < 0.1,
        "mean {mean}, std {std}"
    );
    assert!(u
        .to_vec::<f64>()
        .unwrap()
        .iter()
        .all(|&v| (-1.0..1.0).contains(&v)));
    let t = Tensor::truncated_normal(&[1000], 0.0, 0.5, DType::F32).unwrap();
    assert!(t.to_vec::<f32>().unwrap().iter().all(|&v| v.abs() <= 1.0));
    assert!(Tensor::randn(&[2], 0.0, 1.0, DType::I64).is_err());
}

#[test]
fn views_share_storage_and_copy_only_when_needed() {
    let t = Tensor::arange(0.0, 6.0, 1.0, DType::F32)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap();
    let tt = t.transpose(0, 1).unwrap();
    assert!(!tt.layout().is_contiguous());
    assert_eq!(
        tt.to_vec::<f32>().unwrap(),
        vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    let s = t.slice(1, 1, 3).unwrap();
    assert_eq!(s.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 4.0, 5.0]);
    let b = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])
        .unwrap()
        .broadcast_to(&[2, 3])
        .unwrap();
    assert_eq!(b.layout().strides(), &[0, 1]);
    assert_eq!(
        b.to_vec::<f32>().unwrap(),
        vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
    );
    // A reshape of a non-contiguous view copies and stays correct.
    assert_eq!(
        tt.reshape(&[6]).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    // Cloning shares, updating a clone copies first, so the original never changes under it.
    let mut c = t.clone();
    c.update::<f32>(|v| v[0] = 100.0).unwrap();
    assert_eq!(t.to_vec::<f32>().unwrap()[0], 0.0);
    assert_eq!(c.to_vec::<f32>().unwrap()[0], 100.0);
}

#[test]
fn ops_on_all_dtypes() {
    let labels = Tensor::from_vec(vec![2i64, 0, 1], &[3]).unwrap();
    assert_eq!(
        labels.one_hot(3).unwrap().to_vec::<f32>().unwrap(),
        vec![0., 0., 1., 1., 0., 0., 0., 1., 0.]
    );
    assert!(Tensor::from_vec(vec![3i32], &[1])
        .unwrap()
        .one_hot(3)
        .is_err());
    let bytes = Tensor::from_vec(vec![0u8, 128, 255], &[3]).unwrap();
    assert_eq!(
        bytes
            .to_dtype(DType::F32)
            .unwrap()
            .div_scalar(255.0)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()[2],
        1.0
    );
    assert_eq!(
        Tensor::from_vec(vec![-1.7f32, 2.9], &[2])
            .unwrap()
            .to_dtype(DType::I64)
            .unwrap()
            .to_vec::<i64>()
            .unwrap(),
        vec![-1, 2]
    );
    let mask = Tensor::from_vec(vec![1.0f32, 0.0], &[2])
        .unwrap()
        .to_dtype(DType::Bool)
        .unwrap();
    assert_eq!(mask.to_vec::<bool>().unwrap(), vec![true, false]);
    assert_eq!(
        labels
            .eq(&Tensor::scalar(0i64))
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        vec![false, true, false]
    );
    assert_eq!(
        Tensor::from_vec(vec![3.0f32, 9.0, 1.0, 4.0], &[2, 2])
            .unwrap()
            .argmax(1, false)
            .unwrap()
            .to_vec::<i64>()
            .unwrap(),
        vec![1, 1]
    );
    assert_eq!(
        Tensor::from_vec(vec![3i32, 9, 1, 4], &[2, 2])
            .unwrap()
            .argmin(0, false)
            .unwrap()
            .to_vec::<i64>()
            .unwrap(),
        vec![1, 1]
    );
    let a = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2]).unwrap();
    let stacked = Tensor::stack(&[a.clone(), a.mul_scalar(2.0).unwrap()], 0).unwrap();
    assert_eq!(stacked.shape(), &[2, 1, 2]);
    assert_eq!(
        a.pad(&[(1, 0), (0, 1)], -1.0)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![-1., -1., -1., 1., 2., -1.]
    );
}

#[test]
fn errors_name_the_op_and_both_shapes() {
    let a = Tensor::zeros(&[2, 3], DType::F32);
    let b = Tensor::zeros(&[4, 3], DType::F32);
    assert_eq!(
        a.add(&b).unwrap_err().to_string(),
        "add: shapes cannot be broadcast together: [2, 3] and [4, 3]"
    );
    assert_eq!(
        a.add(&Tensor::zeros(&[3], DType::F64))
            .unwrap_err()
            .to_string(),
        "add: operands must have the same dtype, found f32 and f64"
    );
    assert!(matches!(
        Tensor::zeros(&[2], DType::I64).exp(),
        Err(Error::DType { op: "exp", .. })
    ));
    assert_eq!(
        a.sum(&[2], false).unwrap_err().to_string(),
        "sum: axis 2 is out of range for a tensor of rank 2"
    );
    assert_eq!(
        a.reshape(&[5]).unwrap_err().to_string(),
        "reshape: cannot reshape [2, 3] (6 elements) into [5] (5 elements)"
    );
    let img = Tensor::zeros(&[1, 5, 5, 2], DType::F32);
    let k = Tensor::zeros(&[3, 3, 3, 4], DType::F32);
    assert_eq!(
        img.conv2d(&k, &Default::default()).unwrap_err().to_string(),
        "conv2d: input channels differ: input [1, 5, 5, 2] has 2, kernel [3, 3, 3, 4] expects 3"
    );
    let idx = Tensor::from_vec(vec![5i64], &[1]).unwrap();
    assert_eq!(
        a.index_select(1, &idx).unwrap_err().to_string(),
        "index_select: index 5 is out of range for a dimension of size 3"
    );
    assert!(a.backward().is_err());
}

#[test]
fn softmax_is_stable_for_huge_logits() {
    let x = Tensor::from_vec(vec![1000.0f32, 1000.0, -1000.0], &[1, 3]).unwrap();
    assert_eq!(
        x.softmax(-1).unwrap().to_vec::<f32>().unwrap(),
        vec![0.5, 0.5, 0.0]
    );
    let ls = x.log_softmax(-1).unwrap().to_vec::<f32>().unwrap();
    assert!((ls[0] + std::f32::consts::LN_2).abs() < 1e-6, "{ls:?}");
    assert!(
        (ls[2] + 2000.0 + std::f32::consts::LN_2).abs() < 1e-3,
        "{ls:?}"
    );
    assert!(ls.iter().all(|v| v.is_finite()));
}

#[test]
fn no_grad_records_nothing_and_graphs_are_freed() {
    let w = Tensor::ones(&[3, 3], DType::F32)
        .set_requires_grad(true)
        .unwrap();
    let y = no_grad(|| w.matmul(&w).unwrap());
    assert!(!y.requires_grad() && y.is_leaf());
    // The graph holds the inputs only while its output lives: after backward and drop, the
    // weight's storage is uniquely owned again (so the optimizer updates it in place).
    let loss = w
        .matmul(&w)
        .unwrap()
        .relu()
        .unwrap()
        .sum(&[], false)
        .unwrap();
    let grads = loss.backward().unwrap();
    assert_eq!(
        grads.get(&w).unwrap().to_vec::<f32>().unwrap(),
        vec![6.0; 9]
    );
    drop(loss);
    drop(grads);
    let mut w2 = w;
    let before = w2.data::<f32>().unwrap().as_ptr();
    w2.update::<f32>(|v| v[0] = 2.0).unwrap();
    assert_eq!(
        w2.data::<f32>().unwrap().as_ptr(),
        before,
        "a uniquely owned variable is updated in place"
    );
    assert_eq!(w2.to_vec::<f32>().unwrap()[0], 2.0);
    assert!(w2.requires_grad(), "an update keeps the variable trainable");
}

#[test]
fn gradients_accumulate_over_reuse_and_skip_constants() {
    let x = Tensor::from_vec(vec![2.0f64], &[1])
        .unwrap()
        .set_requires_grad(true)
        .unwrap();
    let c = Tensor::from_vec(vec![5.0f64], &[1]).unwrap();
    let y = x
        .mul(&x)
        .unwrap()
        .add(&x.mul(&c).unwrap())
        .unwrap()
        .sum(&[], false)
        .unwrap();
    let grads = y.backward().unwrap();
    assert_eq!(grads.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![9.0]);
    assert!(grads.get(&c).is_none());
    assert_eq!(grads.len(), 1);
}

/// `to_f32_scaled` is the cast, the product and the sum it replaces, to the bit, from every
/// dtype.
#[test]
fn a_scaled_cast_is_the_composed_ops_to_the_bit() {
    let bytes: Vec<u8> = (0..=255).collect();
    let inputs = [
        Tensor::from_vec(bytes.clone(), &[16, 16]).unwrap(),
        Tensor::from_vec(bytes.iter().map(|&b| b as i64 - 100).collect(), &[256]).unwrap(),
        Tensor::rand_uniform(&[3, 5000], -4.0, 4.0, DType::F32).unwrap(),
        Tensor::rand_uniform(&[70_001], -4.0, 4.0, DType::F64).unwrap(),
    ];
    for x in &inputs {
        for (scale, offset) in [(1.0 / 255.0, 0.0), (2.0 / 255.0, -1.0), (0.1, 0.3)] {
            let composed = x.to_dtype(DType::F32).unwrap().mul_scalar(scale).unwrap();
            let composed = if offset == 0.0 {
                composed
            } else {
                composed.add_scalar(offset).unwrap()
            };
            let fused = x.to_f32_scaled(scale, offset).unwrap();
            assert_eq!(fused.shape(), x.shape());
            let bits = |t: &Tensor| {
                t.to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                bits(&fused),
                bits(&composed),
                "{:?} {scale} {offset}",
                x.dtype()
            );
        }
    }
}

/// The fused loss equals `-log_softmax` gathered at the labels (f32 and f64, labels of any
/// dtype, huge logits), and bad labels or shapes are errors naming the op, not panics.
#[test]
fn sparse_softmax_cross_entropy_is_the_gathered_log_softmax() {
    for dtype in [DType::F32, DType::F64] {
        let mut logits = Tensor::rand_uniform(&[6, 7], -5.0, 5.0, dtype)
            .unwrap()
            .to_f64_vec();
        logits[3] = 1e30;
        logits[7..14].iter_mut().for_each(|v| *v = -1e30);
        let x = Tensor::from_vec(logits, &[6, 7])
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let classes = [6i64, 0, 3, 0, 5, 2];
        let want = x
            .log_softmax(-1)
            .unwrap()
            .gather(-1, &Tensor::from_vec(classes.to_vec(), &[6, 1]).unwrap())
            .unwrap()
            .neg()
            .unwrap()
            .reshape(&[6])
            .unwrap()
            .to_f64_vec();
        for labels in [
            Tensor::from_vec(classes.to_vec(), &[6]).unwrap(),
            Tensor::from_vec(classes.iter().map(|&c| c as u8).collect(), &[6]).unwrap(),
            Tensor::from_vec(classes.iter().map(|&c| c as f32).collect(), &[6]).unwrap(),
        ] {
            let got = x.sparse_softmax_cross_entropy(&labels).unwrap();
            assert_eq!(got.shape(), &[6]);
            assert_eq!(got.dtype(), dtype);
            for (g, w) in got.to_f64_vec().iter().zip(&want) {
                assert!(
                    g.is_finite() && (g - w).abs() <= 1e-6 * (1.0 + w.abs()),
                    "{g} vs {w}"
                );
            }
        }
    }
    let x = Tensor::zeros(&[2, 3], DType::F32);
    for (labels, says) in [
        (Tensor::from_vec(vec![0i64, 3], &[2]).unwrap(), "label 3"),
        (Tensor::from_vec(vec![-1i64, 0], &[2]).unwrap(), "label -1"),
        (
            Tensor::from_vec(vec![0.5f32, 0.0], &[2]).unwrap(),
            "label 0.5",
        ),
        (
            Tensor::from_vec(vec![0i64, 1, 2], &[3]).unwrap(),
            "do not match",
        ),
        (
            Tensor::from_vec(vec![0i64, 1], &[2, 1]).unwrap(),
            "do not match",
        ),
    ] {
        let err = x
            .sparse_softmax_cross_entropy(&labels)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sparse_softmax_cross_entropy") && err.contains(says),
            "{err}"
        );
    }
    assert!(Tensor::scalar(1.0f32)
        .sparse_softmax_cross_entropy(&Tensor::scalar(0i64))
        .is_err());
    let no_classes = Tensor::zeros(&[0, 0], DType::F32);
    let err = no_classes
        .sparse_softmax_cross_entropy(&Tensor::zeros(&[0], DType::I64))
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
    assert!(Tensor::zeros(&[2, 3], DType::I64)
        .sparse_softmax_cross_entropy(&Tensor::from_vec(vec![0i64, 1], &[2]).unwrap())
        .is_err());
}

/// A gather large enough to be shared between two cores picks the same rows as one done row by
/// row, along the first axis and (with rows before it) along a middle one.
#[test]
fn a_large_index_select_picks_every_row() {
    let x = Tensor::rand_uniform(&[300, 4, 25], -1.0, 1.0, DType::F32).unwrap();
    let values = x.to_vec::<f32>().unwrap();
    let picks: Vec<i64> = (0..64).map(|i| (i * 37 % 300) as i64 - 150).collect();
    let got = x
        .index_select(0, &Tensor::from_vec(picks.clone(), &[64]).unwrap())
        .unwrap();
    assert_eq!(got.shape(), &[64, 4, 25]);
    let want: Vec<f32> = picks
        .iter()
        .flat_map(|&p| {
            let row = (p + 300) as usize % 300;
            values[row * 100..(row + 1) * 100].to_vec()
        })
        .collect();
    assert_eq!(got.to_vec::<f32>().unwrap(), want);
    let middle = x
        .index_select(1, &Tensor::from_vec(vec![3i64, 0, 3], &[3]).unwrap())
        .unwrap();
    let want: Vec<f32> = (0..300)
        .flat_map(|o| {
            [3, 0, 3]
                .into_iter()
                .flat_map(|i| values[(o * 4 + i) * 25..(o * 4 + i + 1) * 25].to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(middle.to_vec::<f32>().unwrap(), want);
}
