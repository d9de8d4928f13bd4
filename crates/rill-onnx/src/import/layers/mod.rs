//! The layers an imported graph is made of where Rill's Keras layers do not say the same thing:
//! ONNX's channels-first convolution and pooling with explicit pads and groups, batch
//! normalisation over axis 1, transposes, pads, means and arithmetic with constants. Each
//! follows its ONNX operator exactly, stores its attributes as a typed config (so an imported
//! model saves as `.rill` and loads again once [`register_layers`](super::register_layers) has
//! run) and trains: gradients flow through every one of them.
//!
//! Attributes keep ONNX's meaning: axes count the batch axis, pads are (begins…, ends…).

use rill_core::{no_grad, Conv2dOptions, Padding, Tensor};
use rill_nn::layers::OnnxAttr::{Float, Int, Ints};
use rill_nn::layers::{
    onnx_axis, onnx_computed, onnx_constant, onnx_unsupported, Configurable, Layer, LayerExample,
    OnnxForm, OnnxGraph, OnnxImport, OnnxLayer, OnnxNode,
};
use rill_nn::{Error, Result, Variable};
use serde::{Deserialize, Serialize};

mod arithmetic;
mod batch_norm;
mod conv;
mod elementwise;
mod pool;
mod shape_ops;
mod slice;

pub use arithmetic::*;
pub use batch_norm::*;
pub use conv::*;
pub use elementwise::*;
pub use pool::*;
pub use shape_ops::*;
pub use slice::*;

fn config_error(kind: &str, what: impl std::fmt::Display) -> Error {
    Error::Config(format!("{kind}: {what}"))
}

fn not_built(kind: &str) -> Error {
    Error::not_built(kind)
}

/// Refuses a per-sample shape (or work size) above [`MAX_SAMPLE_VALUES`](rill_nn::layers::MAX_SAMPLE_VALUES).
pub(crate) fn bounded(kind: &str, what: &str, dims: &[usize]) -> Result<()> {
    rill_nn::layers::check_sample_values(kind, what, dims)
}

/// Sizes as ONNX's integer lists.
fn sizes(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&d| d as i64).collect()
}

/// The batch shape with the batch axis at the front, for messages.
fn full(per_sample: &[usize]) -> String {
    rill_nn::batch_shape(per_sample)
}

/// Output size of a window over `input` padded by `pad` (begin + end).
fn window_out(
    kind: &str,
    input: usize,
    pad: usize,
    k: usize,
    stride: usize,
    dilation: usize,
) -> Result<usize> {
    let span = (k.max(1) - 1).saturating_mul(dilation).saturating_add(1);
    let padded = input.saturating_add(pad);
    if k == 0 || stride == 0 || dilation == 0 || padded < span {
        return Err(config_error(
            kind,
            format!("a window of {k} (dilation {dilation}, stride {stride}) does not fit an input of {input} padded by {pad}"),
        ));
    }
    Ok((padded - span) / stride + 1)
}

/// The output height and width of a 2-D window over (C, H, W) samples with ONNX `pads`
/// (top, left, bottom, right), the padded input bounded by [`MAX_SAMPLE_VALUES`](rill_nn::layers::MAX_SAMPLE_VALUES).
fn window_hw(
    kind: &str,
    s: &[usize],
    pads: &[usize; 4],
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> Result<(usize, usize)> {
    let out = |a: usize| {
        window_out(
            kind,
            s[a + 1],
            pads[a] + pads[a + 2],
            kernel[a],
            strides[a],
            dilations[a],
        )
    };
    let (oh, ow) = (out(0)?, out(1)?);
    let padded = [s[0], s[1] + pads[0] + pads[2], s[2] + pads[1] + pads[3]];
    bounded(kind, "a padded input", &padded)?;
    Ok((oh, ow))
}

fn nhwc(x: &Tensor) -> Result<Tensor> {
    Ok(x.permute(&[0, 2, 3, 1])?)
}

fn nchw(x: &Tensor) -> Result<Tensor> {
    Ok(x.permute(&[0, 3, 1, 2])?)
}

/// Pads the spatial axes of an NHWC batch by ONNX pads `[top, left, bottom, right]`.
fn pad_hw(x: &Tensor, pads: &[usize; 4], value: f64) -> Result<Tensor> {
    if pads.iter().all(|&p| p == 0) {
        return Ok(x.clone());
    }
    Ok(x.pad(
        &[(0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)],
        value,
    )?)
}

/// A 2-D window attribute (`kernel_shape`, `strides`, `dilations`) of `node`, or `default`.
fn window_pair(node: &dyn OnnxNode, name: &str, default: [usize; 2]) -> Result<[usize; 2]> {
    match node.ints(name)? {
        None => Ok(default),
        Some(v) if v.len() == 2 && v.iter().all(|&x| (1..=1 << 20).contains(&x)) => {
            Ok([v[0] as usize, v[1] as usize])
        }
        Some(v) => Err(onnx_unsupported(
            node,
            format!("{name} {v:?} (only 2-D windows with positive sizes)"),
        )),
    }
}

/// The pads (top, left, bottom, right) of a 2-D window over (C, H, W) inputs, from `pads` or
/// `auto_pad`.
fn window_pads(
    node: &dyn OnnxNode,
    s: &[usize],
    k: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> Result<[usize; 4]> {
    let auto = node.string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    match auto.as_str() {
        "NOTSET" => {
            let p = node.ints("pads")?.unwrap_or_else(|| vec![0; 4]);
            if p.len() != 4 || p.iter().any(|&v| !(0..=1 << 20).contains(&v)) {
                return Err(onnx_unsupported(
                    node,
                    format!("pads {p:?} (four sizes are)"),
                ));
            }
            Ok([p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize])
        }
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut pads = [0; 4];
            for ax in 0..2 {
                let (small, large) =
                    rill_core::same_padding(s[ax + 1], k[ax], strides[ax], dilations[ax]);
                let (begin, end) = if auto == "SAME_UPPER" {
                    (small, large)
                } else {
                    (large, small)
                };
                pads[ax] = begin;
                pads[ax + 2] = end;
            }
            Ok(pads)
        }
        other => Err(onnx_unsupported(node, format!("auto_pad '{other}'"))),
    }
}
