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
use rill_nn::layers::{Configurable, Layer, LayerExample, OnnxForm, OnnxGraph, OnnxLayer};
use rill_nn::{Error, Result, Variable};
use serde::{Deserialize, Serialize};

mod arithmetic;
mod batch_norm;
mod conv;
mod elementwise;
mod pool;
mod shape_ops;

pub use arithmetic::*;
pub use batch_norm::*;
pub use conv::*;
pub use elementwise::*;
pub use pool::*;
pub use shape_ops::*;

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
