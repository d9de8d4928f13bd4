//! `TensorProto`s in and out: a request's tensor checked against a model input (its dtype, and
//! its shape up to axes of size 1) before anything is allocated, and outputs as `DT_FLOAT`.

use super::proto::{dtype, Dim, TensorProto, TensorShapeProto};
use crate::inference::Values;
use crate::store::TensorSpec;
use rill_core::Tensor;

/// `[-1, ...sample]`: the signature's shape with a free batch axis.
pub(super) fn signature_shape(sample: &[usize]) -> TensorShapeProto {
    let mut dim = vec![Dim {
        size: -1,
        name: String::new(),
    }];
    dim.extend(sample.iter().map(|&d| Dim {
        size: d as i64,
        name: String::new(),
    }));
    TensorShapeProto {
        dim,
        unknown_rank: false,
    }
}

fn dtype_name(d: i32) -> String {
    match d {
        dtype::FLOAT => "DT_FLOAT".into(),
        dtype::DOUBLE => "DT_DOUBLE".into(),
        dtype::INT32 => "DT_INT32".into(),
        dtype::UINT8 => "DT_UINT8".into(),
        dtype::INT16 => "DT_INT16".into(),
        dtype::INT8 => "DT_INT8".into(),
        dtype::INT64 => "DT_INT64".into(),
        dtype::STRING => "DT_STRING".into(),
        other => format!("DataType {other}"),
    }
}

/// The samples of `t` for the input `spec`: the row count and the values, row-major — f32, or
/// text from `string_val` for an input of text.
pub(super) fn read_input(t: &TensorProto, spec: &TensorSpec) -> Result<(usize, Values), String> {
    let name = &spec.name;
    let dims = t
        .tensor_shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or(&[]);
    let Some((batch, sample)) = dims.split_first() else {
        return Err(format!(
            "input '{name}': the tensor needs a shape with a batch axis"
        ));
    };
    let sizes: Vec<usize> = std::iter::once(batch)
        .chain(sample)
        .map(|d| {
            usize::try_from(d.size)
                .map_err(|_| format!("input '{name}': a dimension of {}", d.size))
        })
        .collect::<Result<_, _>>()?;
    if !rill_nn::fits(&sizes[1..], &spec.shape) {
        return Err(format!(
            "input '{name}': each sample has shape {:?}; the model takes {:?}",
            &sizes[1..],
            spec.shape
        ));
    }
    let rows = sizes[0];
    let per: usize = spec.shape.iter().product();
    // Checked against the values present before anything is allocated from it.
    let n = rows
        .checked_mul(per)
        .ok_or(format!("input '{name}': too many values"))?;
    match (spec.text, t.dtype == dtype::STRING) {
        (true, true) => return read_text(t, name, rows, n),
        (true, false) => {
            return Err(format!(
                "input '{name}': the model takes text (DT_STRING), found {}",
                dtype_name(t.dtype)
            ))
        }
        _ => {}
    }
    let width = match t.dtype {
        dtype::FLOAT | dtype::INT32 => 4,
        dtype::DOUBLE | dtype::INT64 => 8,
        dtype::UINT8 | dtype::INT8 => 1,
        dtype::INT16 => 2,
        other => {
            return Err(format!(
                "input '{name}': {} is not a numeric type Rill reads (DT_FLOAT, DT_DOUBLE, DT_INT8/16/32/64, DT_UINT8)",
                dtype_name(other)
            ))
        }
    };
    let wrong = |found: usize| {
        format!("input '{name}': shape {sizes:?} holds {n} values, the tensor has {found}")
    };
    if !t.tensor_content.is_empty() {
        let b = &t.tensor_content;
        if b.len() != n * width {
            return Err(wrong(b.len() / width));
        }
        let values = match t.dtype {
            dtype::FLOAT => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            dtype::INT32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            dtype::DOUBLE => b
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
            dtype::INT64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
            dtype::UINT8 => b.iter().map(|&v| v as f32).collect(),
            dtype::INT8 => b.iter().map(|&v| v as i8 as f32).collect(),
            _ => b
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32)
                .collect(),
        };
        return Ok((rows, Values::Numbers(values)));
    }
    let values: Vec<f32> = match t.dtype {
        dtype::FLOAT => t.float_val.clone(),
        dtype::DOUBLE => t.double_val.iter().map(|&v| v as f32).collect(),
        dtype::INT64 => t.int64_val.iter().map(|&v| v as f32).collect(),
        _ => t.int_val.iter().map(|&v| v as f32).collect(),
    };
    if values.len() != n {
        return Err(wrong(values.len()));
    }
    Ok((rows, Values::Numbers(values)))
}

/// `n` strings of `string_val` (`rows` samples), each UTF-8.
fn read_text(
    t: &TensorProto,
    name: &str,
    rows: usize,
    n: usize,
) -> Result<(usize, Values), String> {
    if t.string_val.len() != n {
        return Err(format!(
            "input '{name}': the shape holds {n} strings, the tensor has {}",
            t.string_val.len()
        ));
    }
    let text = t
        .string_val
        .iter()
        .enumerate()
        .map(|(i, b)| {
            String::from_utf8(b.clone())
                .map_err(|_| format!("input '{name}': string {i} is not UTF-8 text"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, Values::Text(text)))
}

/// An output batch as a `DT_FLOAT` tensor with its full shape.
pub(super) fn write_output(t: &Tensor) -> TensorProto {
    TensorProto {
        dtype: dtype::FLOAT,
        tensor_shape: Some(TensorShapeProto {
            dim: t
                .shape()
                .iter()
                .map(|&d| Dim {
                    size: d as i64,
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        }),
        float_val: t.to_f64_vec().into_iter().map(|v| v as f32).collect(),
        ..TensorProto::default()
    }
}
