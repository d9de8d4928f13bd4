//! Property tests for broadcasting shape rules, reshape/transpose round trips, and
//! index_select on views.

use proptest::prelude::*;
use rill_core::{broadcast_shapes, DType, Tensor};

fn shape(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..5, 0..=max_rank)
}

proptest! {
    #[test]
    fn broadcasting_is_symmetric_and_matches_numpy_rules(a in shape(4), b in shape(4)) {
        let ab = broadcast_shapes("t", &a, &b);
        let ba = broadcast_shapes("t", &b, &a);
        prop_assert_eq!(ab.is_ok(), ba.is_ok());
        let rank = a.len().max(b.len());
        let dim = |s: &[usize], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
        let compatible = (0..rank).all(|i| dim(&a, i) == dim(&b, i) || dim(&a, i) == 1 || dim(&b, i) == 1);
        prop_assert_eq!(ab.is_ok(), compatible);
        if let (Ok(x), Ok(y)) = (ab, ba) {
            prop_assert_eq!(&x, &y);
            prop_assert_eq!(x.len(), rank);
            for (i, &d) in x.iter().enumerate() {
                prop_assert_eq!(d, dim(&a, i).max(dim(&b, i)));
            }
        }
    }

    #[test]
    fn broadcast_add_and_sub_agree_with_explicit_expansion(a in shape(3), b in shape(3)) {
        // Shapes of ones make one operand a single value broadcast everywhere (its own fast
        // path); `sub` is not symmetric, so it would show operands taken in the wrong order.
        if let Ok(out) = broadcast_shapes("t", &a, &b) {
            let n: usize = a.iter().product();
            let m: usize = b.iter().product();
            let ta = Tensor::from_vec((0..n).map(|v| v as f64).collect(), &a).unwrap();
            let tb = Tensor::from_vec((0..m).map(|v| (v * 100) as f64).collect(), &b).unwrap();
            let sum = ta.add(&tb).unwrap();
            let difference = ta.sub(&tb).unwrap();
            prop_assert_eq!(sum.shape(), &out[..]);
            prop_assert_eq!(difference.shape(), &out[..]);
            let ea = ta.broadcast_to(&out).unwrap().contiguous().to_vec::<f64>().unwrap();
            let eb = tb.broadcast_to(&out).unwrap().contiguous().to_vec::<f64>().unwrap();
            let expected: Vec<f64> = ea.iter().zip(&eb).map(|(x, y)| x + y).collect();
            prop_assert_eq!(sum.to_vec::<f64>().unwrap(), expected);
            let expected: Vec<f64> = ea.iter().zip(&eb).map(|(x, y)| x - y).collect();
            prop_assert_eq!(difference.to_vec::<f64>().unwrap(), expected);
        }
    }

    #[test]
    fn index_select_on_a_view_equals_index_select_on_its_copy(
        s in prop::collection::vec(2usize..5, 2..=4),
        seed in any::<u64>(),
    ) {
        // A view: permuted, then sliced on its first axis.
        let n: usize = s.iter().product();
        let t = Tensor::arange(0.0, n as f64, 1.0, DType::F32).unwrap().reshape(&s).unwrap();
        let mut g = rill_core::Generator::new(seed);
        let mut perm: Vec<usize> = (0..s.len()).collect();
        g.shuffle(&mut perm);
        let p = t.permute(&perm).unwrap();
        let view = p.slice(0, 1, p.shape()[0]).unwrap();
        for axis in 0..view.rank() {
            let k = 1 + g.below(5);
            let picks: Vec<i64> = (0..k).map(|_| g.below(view.shape()[axis]) as i64).collect();
            let idx = Tensor::from_vec(picks, &[k]).unwrap();
            let got = view.index_select(axis as isize, &idx).unwrap();
            let want = view.contiguous().index_select(axis as isize, &idx).unwrap();
            prop_assert_eq!(got.shape(), want.shape());
            prop_assert_eq!(got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
        }
    }

    #[test]
    fn reshape_round_trip_keeps_elements(s in shape(4)) {
        let n: usize = s.iter().product();
        let t = Tensor::arange(0.0, n as f64, 1.0, DType::F32).unwrap().reshape(&s).unwrap();
        let back = t.reshape(&[n]).unwrap();
        prop_assert_eq!(back.to_vec::<f32>().unwrap(), (0..n).map(|v| v as f32).collect::<Vec<_>>());
    }

    #[test]
    fn permute_then_inverse_is_identity(s in prop::collection::vec(1usize..5, 1..=4), seed in any::<u64>()) {
        let n: usize = s.iter().product();
        let t = Tensor::arange(0.0, n as f64, 1.0, DType::I64).unwrap().reshape(&s).unwrap();
        let mut perm: Vec<usize> = (0..s.len()).collect();
        rill_core::Generator::new(seed).shuffle(&mut perm);
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() { inverse[p] = i; }
        let p = t.permute(&perm).unwrap();
        for (i, &d) in perm.iter().enumerate() { prop_assert_eq!(p.shape()[i], s[d]); }
        // A permuted, made-contiguous copy permuted back equals the original.
        let back = p.contiguous().permute(&inverse).unwrap().contiguous();
        prop_assert_eq!(back.to_vec::<i64>().unwrap(), t.to_vec::<i64>().unwrap());
        // Transposing twice is the identity too.
        if s.len() >= 2 {
            let tt = t.transpose(0, -1).unwrap().transpose(0, -1).unwrap();
            prop_assert_eq!(tt.to_vec::<i64>().unwrap(), t.to_vec::<i64>().unwrap());
        }
    }
}
