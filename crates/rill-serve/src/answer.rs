//! Writing outputs as TF Serving's JSON answer, straight into a string: f32 values in their
//! shortest exact form, and NaN, Infinity and -Infinity as TF Serving writes them (standard
//! JSON has no such numbers; a JSON library would write `null`).

use crate::store::TensorSpec;
use rill_core::{DType, Tensor};
use std::fmt::Write;

fn number(out: &mut String, v: f64, single: bool) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else if single {
        // Debug gives the shortest text that reads back to the same f32, with an exponent
        // for very small or large values.
        let _ = write!(out, "{:?}", v as f32);
    } else {
        let _ = write!(out, "{v:?}");
    }
}

/// `open`, then `n` items written by `item` and separated by commas, then `close`.
fn separated(
    out: &mut String,
    (open, close): (char, char),
    n: usize,
    mut item: impl FnMut(&mut String, usize),
) {
    out.push(open);
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        item(out, i);
    }
    out.push(close);
}

/// One sample's values nested by `shape`, written with a loop rather than a call per axis: a
/// model's rank comes from its file, and a recursion as deep as the rank would let a crafted
/// file overflow a server thread's stack.
fn nest(out: &mut String, values: &[f64], shape: &[usize], single: bool) {
    let Some(last) = shape.len().checked_sub(1) else {
        number(out, values[0], single);
        return;
    };
    // `at[a]`: how many items of axis `a`'s open list are written.
    let mut at = vec![0usize; shape.len()];
    let mut axis = 0;
    let mut next = values.iter();
    out.push('[');
    loop {
        if at[axis] == shape[axis] {
            out.push(']');
            if axis == 0 {
                return;
            }
            axis -= 1;
            at[axis] += 1;
            continue;
        }
        if at[axis] > 0 {
            out.push(',');
        }
        if axis == last {
            number(out, next.next().copied().unwrap_or(f64::NAN), single);
            at[axis] += 1;
        } else {
            axis += 1;
            at[axis] = 0;
            out.push('[');
        }
    }
}

/// Sample `i` of `t` (`[n, ...]`).
fn sample(out: &mut String, t: &Tensor, values: &[f64], i: usize) {
    let inner = &t.shape()[1..];
    let per = inner.iter().product::<usize>();
    nest(
        out,
        &values[i * per..(i + 1) * per],
        inner,
        t.dtype() == DType::F32,
    );
}

fn string(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// TF Serving's answer: one output is a plain list (of samples, or the batch); several are
/// keyed by output name — per sample in the row format, per batch in the columnar one.
pub(crate) fn write(outputs: &[TensorSpec], tensors: &[Tensor], row_format: bool) -> String {
    let values: Vec<Vec<f64>> = tensors.iter().map(Tensor::to_f64_vec).collect();
    let rows = tensors.first().map_or(0, |t| t.shape()[0]);
    let mut out = String::with_capacity(64 + values.iter().map(Vec::len).sum::<usize>() * 12);
    out.push_str(if row_format {
        "{\"predictions\":"
    } else {
        "{\"outputs\":"
    });
    let list = |out: &mut String, k: usize| {
        separated(out, ('[', ']'), rows, |out, i| {
            sample(out, &tensors[k], &values[k], i)
        })
    };
    let named = |out: &mut String, k: usize| {
        string(out, &outputs[k].name);
        out.push(':');
    };
    let n = tensors.len().min(outputs.len());
    match (tensors.len(), row_format) {
        (1, _) => list(&mut out, 0),
        (_, true) => separated(&mut out, ('[', ']'), rows, |out, i| {
            separated(out, ('{', '}'), n, |out, k| {
                named(out, k);
                sample(out, &tensors[k], &values[k], i);
            })
        }),
        (_, false) => separated(&mut out, ('{', '}'), n, |out, k| {
            named(out, k);
            list(out, k);
        }),
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_are_written_as_tf_serving_writes_them() {
        let t = Tensor::from_vec(
            vec![f32::NAN, f32::INFINITY, -f32::INFINITY, 0.1, 1e-30, 3.0],
            &[2, 3],
        )
        .unwrap();
        let spec = [TensorSpec {
            name: "y".into(),
            shape: vec![3],
            text: false,
        }];
        assert_eq!(
            write(&spec, &[t], true),
            "{\"predictions\":[[NaN,Infinity,-Infinity],[0.1,1e-30,3.0]]}"
        );
    }

    #[test]
    fn samples_nest_by_their_shape_with_empty_axes_kept() {
        let spec = |shape: &[usize]| {
            [TensorSpec {
                name: "y".into(),
                shape: shape.to_vec(),
                text: false,
            }]
        };
        let t = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[1, 2, 3, 2]).unwrap();
        assert_eq!(
            write(&spec(&[2, 3, 2]), &[t], true),
            "{\"predictions\":[[[[0.0,1.0],[2.0,3.0],[4.0,5.0]],[[6.0,7.0],[8.0,9.0],[10.0,11.0]]]]}"
        );
        let empty = Tensor::from_vec(Vec::<f32>::new(), &[2, 2, 0, 3]).unwrap();
        assert_eq!(
            write(&spec(&[2, 0, 3]), &[empty], false),
            "{\"outputs\":[[[],[]],[[],[]]]}"
        );
        let scalar = Tensor::from_vec(vec![1.5f32, 2.5], &[2]).unwrap();
        assert_eq!(
            write(&spec(&[]), &[scalar], true),
            "{\"predictions\":[1.5,2.5]}"
        );
    }

    #[test]
    fn an_answer_as_deep_as_thirty_thousand_axes_does_not_recurse() {
        // Written on a thread with a small stack: one call per axis would overflow it.
        let rank = 30_000;
        let mut shape = vec![1usize; rank];
        shape[0] = 2;
        let t = Tensor::from_vec(vec![4.0f32, 5.0], &[1, 2]).unwrap();
        let t = t.reshape(&shape).unwrap();
        let spec = [TensorSpec {
            name: "y".into(),
            shape: shape[1..].to_vec(),
            text: false,
        }];
        let answer = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || write(&spec, &[t], true))
            .unwrap()
            .join()
            .unwrap();
        let deep = rank - 1;
        let want = format!(
            "{{\"predictions\":[{}4.0{},{}5.0{}]}}",
            "[".repeat(deep),
            "]".repeat(deep),
            "[".repeat(deep),
            "]".repeat(deep)
        );
        assert_eq!(answer, want);
    }
}
