//! Image augmentation for `[height, width, channels]` tensors, each drawing from a seeded
//! [`Generator`] so that runs are reproducible. Use them inside [`Dataset::map`](super::Dataset::map).

use crate::Result;
use rill_core::{Generator, Tensor};

/// Mirrors the image left-right with probability ½.
pub fn random_flip_left_right(img: &Tensor, rng: &mut Generator) -> Result<Tensor> {
    if rng.unit() < 0.5 {
        return Ok(img.clone());
    }
    let w = img.shape()[1];
    let idx = Tensor::arange((w - 1) as f64, -1.0, -1.0, rill_core::DType::I64)?;
    Ok(img.index_select(1, &idx)?)
}

/// Pads by `pad` zeros on every side and crops a random window of the original size.
pub fn random_crop_with_padding(img: &Tensor, pad: usize, rng: &mut Generator) -> Result<Tensor> {
    let (h, w) = (img.shape()[0], img.shape()[1]);
    let padded = img.pad(&[(pad, pad), (pad, pad), (0, 0)], 0.0)?;
    let (dy, dx) = (rng.below(2 * pad + 1), rng.below(2 * pad + 1));
    Ok(padded
        .slice(0, dy, dy + h)?
        .slice(1, dx, dx + w)?
        .contiguous())
}

/// Shifts the image by up to `max_fraction` of its height and width, filling with zeros.
pub fn random_translation(img: &Tensor, max_fraction: f64, rng: &mut Generator) -> Result<Tensor> {
    let (h, w) = (img.shape()[0], img.shape()[1]);
    let max_dy = (h as f64 * max_fraction).round() as usize;
    let max_dx = (w as f64 * max_fraction).round() as usize;
    let pad = max_dy.max(max_dx);
    if pad == 0 {
        return Ok(img.clone());
    }
    let padded = img.pad(&[(pad, pad), (pad, pad), (0, 0)], 0.0)?;
    let dy = pad - max_dy + rng.below(2 * max_dy + 1);
    let dx = pad - max_dx + rng.below(2 * max_dx + 1);
    Ok(padded
        .slice(0, dy, dy + h)?
        .slice(1, dx, dx + w)?
        .contiguous())
}
