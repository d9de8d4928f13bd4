//! String tensors: the element-moving ops give what the same op gives on numbers, and the
//! numeric ops refuse text with a message saying what to do.

use rill_core::{DType, Tensor};

fn words(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i}")).collect()
}

/// The strings a tensor of `i`s would hold after the same op: `w{i}` for each number.
fn named(numbers: &Tensor) -> Vec<String> {
    numbers
        .to_vec::<i64>()
        .expect("i64")
        .iter()
        .map(|i| format!("w{i}"))
        .collect()
}

#[test]
fn moving_ops_match_the_same_ops_on_numbers() -> rill_core::Result<()> {
    let text = Tensor::from_strings(words(24), &[2, 3, 4])?;
    let numbers = Tensor::arange(0.0, 24.0, 1.0, DType::I64)?.reshape(&[2, 3, 4])?;
    let idx = Tensor::from_vec(vec![2i64, 0, 2], &[3])?;
    for axis in 0..3isize {
        let pick = Tensor::from_vec(vec![1i64, 0], &[2])?;
        let (t, n) = if axis == 1 {
            (
                text.index_select(axis, &idx)?,
                numbers.index_select(axis, &idx)?,
            )
        } else {
            (
                text.index_select(axis, &pick)?,
                numbers.index_select(axis, &pick)?,
            )
        };
        assert_eq!(t.shape(), n.shape());
        assert_eq!(t.strings()?, named(&n), "index_select on axis {axis}");
    }
    // Views and their contiguous copies.
    let t = text.permute(&[2, 0, 1])?.slice(0, 1, 3)?;
    let n = numbers.permute(&[2, 0, 1])?.slice(0, 1, 3)?;
    assert_eq!(t.strings()?, named(&n));
    assert_eq!(t.contiguous().strings()?, named(&n.contiguous()));
    assert_eq!(t.contiguous().reshape(&[12])?.strings()?, named(&n));
    // Concatenation of views along each axis.
    for axis in 0..3isize {
        let t = Tensor::concat(&[text.clone(), text.transpose(0, 0)?], axis)?;
        let n = Tensor::concat(&[numbers.clone(), numbers.clone()], axis)?;
        assert_eq!(t.shape(), n.shape());
        assert_eq!(t.strings()?, named(&n), "concat on axis {axis}");
    }
    // Gather (take along an axis).
    let g_idx = Tensor::from_vec(vec![3i64, 0, 1, 1, 2, 2], &[2, 3, 1])?;
    assert_eq!(
        text.gather(2, &g_idx)?.strings()?,
        named(&numbers.gather(2, &g_idx)?)
    );
    Ok(())
}

#[test]
fn text_compares_and_casts() -> rill_core::Result<()> {
    let a = Tensor::from_strings(vec!["cat", "dog", "7.5"], &[3])?;
    let b = Tensor::from_strings(vec!["dog"], &[1])?;
    assert_eq!(a.eq(&b)?.to_vec::<bool>()?, [false, true, false]);
    assert_eq!(a.lt(&b)?.to_vec::<bool>()?, [true, false, true]);
    let numbers = Tensor::from_strings(vec![" 2", "-3.5", "1e3"], &[3])?;
    assert_eq!(
        numbers.to_dtype(DType::F32)?.to_vec::<f32>()?,
        [2.0, -3.5, 1000.0]
    );
    let err = a.to_dtype(DType::F32).unwrap_err().to_string();
    assert!(err.contains("\"cat\" is not a number"), "{err}");
    let back = Tensor::from_vec(vec![2.0f32, -3.5], &[2])?.to_dtype(DType::Str)?;
    assert_eq!(back.strings()?, ["2", "-3.5"]);
    assert_eq!(Tensor::zeros(&[2], DType::Str).strings()?, ["", ""]);
    Ok(())
}

#[test]
fn numeric_ops_refuse_text_clearly() -> rill_core::Result<()> {
    let a = Tensor::from_strings(vec!["a", "b"], &[2])?;
    let add = a.add(&a).unwrap_err().to_string();
    assert!(add.contains("string"), "{add}");
    let argmax = a.argmax(0, false).unwrap_err().to_string();
    assert!(argmax.contains("TextVectorization"), "{argmax}");
    let shape = Tensor::from_strings(vec!["a"], &[2])
        .unwrap_err()
        .to_string();
    assert!(shape.contains("needs 2 strings, found 1"), "{shape}");
    let not_text = Tensor::zeros(&[1], DType::F32)
        .strings()
        .unwrap_err()
        .to_string();
    assert!(
        not_text.contains("expected a string tensor, found f32"),
        "{not_text}"
    );
    assert!(a.set_requires_grad(true).is_err());
    Ok(())
}
