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

/// One sample's values nested by `shape`.
fn nest(out: &mut String, values: &[f64], shape: &[usize], single: bool) {
    match shape.split_first() {
        None => number(out, values[0], single),
        Some((&d, rest)) => {
            let step = rest.iter().product::<usize>();
            separated(out, ('[', ']'), d, |out, i| {
                nest(out, &values[i * step..(i + 1) * step], rest, single)
            });
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
        }];
        assert_eq!(
            write(&spec, &[t], true),
            "{\"predictions\":[[NaN,Infinity,-Infinity],[0.1,1e-30,3.0]]}"
        );
    }
}
