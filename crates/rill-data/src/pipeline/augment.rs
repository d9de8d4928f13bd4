//! Image augmentation for `[height, width]` or `[height, width, channels]` tensors (as Keras'
//! preprocessing layers take them, one image at a time), each drawing from a [`Generator`].
//! Use them inside [`Dataset::map_random`](super::Dataset::map_random), which hands every
//! element its own reproducible generator.

use crate::{Error, Result};
use rill_core::{Generator, Tensor};

/// `(height, width)` of an `H×W` or `H×W×C` image, or an error naming `op`.
fn image_size(op: &str, img: &Tensor) -> Result<(usize, usize)> {
    match img.shape() {
        [h, w] | [h, w, _] => Ok((*h, *w)),
        other => Err(Error::Pipeline(format!(
            "{op}: expected one image of shape [height, width] or [height, width, channels], \
             found {other:?} (map over single elements, before batch)"
        ))),
    }
}

/// Zero padding of `pad` on the two spatial axes, none on the channels.
fn pad_spatial(img: &Tensor, pad: usize) -> Result<Tensor> {
    let mut spec = vec![(pad, pad), (pad, pad)];
    spec.extend((2..img.rank()).map(|_| (0, 0)));
    Ok(img.pad(&spec, 0.0)?)
}

/// Mirrors the image left-right with probability ½.
pub fn random_flip_left_right(img: &Tensor, rng: &mut Generator) -> Result<Tensor> {
    let (_, w) = image_size("random_flip_left_right", img)?;
    if rng.unit() < 0.5 || w == 0 {
        return Ok(img.clone());
    }
    let idx = Tensor::arange((w - 1) as f64, -1.0, -1.0, rill_core::DType::I64)?;
    Ok(img.index_select(1, &idx)?)
}

/// Pads by `pad` zeros on every side and crops a random window of the original size.
pub fn random_crop_with_padding(img: &Tensor, pad: usize, rng: &mut Generator) -> Result<Tensor> {
    let (h, w) = image_size("random_crop_with_padding", img)?;
    let padded = pad_spatial(img, pad)?;
    let (dy, dx) = (rng.below(2 * pad + 1), rng.below(2 * pad + 1));
    Ok(padded
        .slice(0, dy, dy + h)?
        .slice(1, dx, dx + w)?
        .contiguous())
}

/// Shifts the image by up to `max_fraction` of its height and width, filling with zeros.
pub fn random_translation(img: &Tensor, max_fraction: f64, rng: &mut Generator) -> Result<Tensor> {
    let (h, w) = image_size("random_translation", img)?;
    if !(0.0..=1.0).contains(&max_fraction) {
        return Err(Error::Pipeline(format!(
            "random_translation: max_fraction must be in [0, 1], found {max_fraction}"
        )));
    }
    let max_dy = (h as f64 * max_fraction).round() as usize;
    let max_dx = (w as f64 * max_fraction).round() as usize;
    let pad = max_dy.max(max_dx);
    if pad == 0 {
        return Ok(img.clone());
    }
    let padded = pad_spatial(img, pad)?;
    let dy = pad - max_dy + rng.below(2 * max_dy + 1);
    let dx = pad - max_dx + rng.below(2 * max_dx + 1);
    Ok(padded
        .slice(0, dy, dy + h)?
        .slice(1, dx, dx + w)?
        .contiguous())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::DType;

    type Augment<'a> = &'a dyn Fn(&Tensor, &mut Generator) -> Result<Tensor>;

    #[test]
    fn height_by_width_images_augment_like_one_channel_images() {
        let hw = Tensor::arange(0.0, 20.0, 1.0, DType::F32)
            .unwrap()
            .reshape(&[4, 5])
            .unwrap();
        let hwc = hw.reshape(&[4, 5, 1]).unwrap();
        for seed in 0..8 {
            let ops: [Augment; 3] = [
                &random_flip_left_right,
                &|t, g| random_crop_with_padding(t, 2, g),
                &|t, g| random_translation(t, 0.4, g),
            ];
            for op in ops {
                let a = op(&hw, &mut Generator::new(seed)).unwrap();
                let b = op(&hwc, &mut Generator::new(seed)).unwrap();
                assert_eq!(a.shape(), &[4, 5]);
                assert_eq!(
                    a.to_vec::<f32>().unwrap(),
                    b.to_vec::<f32>().unwrap(),
                    "seed {seed}"
                );
            }
        }
    }

    #[test]
    fn a_batch_or_a_vector_is_refused_with_the_reason() {
        let batch = Tensor::zeros(&[8, 4, 5, 1], DType::F32);
        let e = random_flip_left_right(&batch, &mut Generator::new(0)).unwrap_err();
        assert!(e.to_string().contains("before batch"), "{e}");
        let v = Tensor::zeros(&[5], DType::F32);
        assert!(random_crop_with_padding(&v, 1, &mut Generator::new(0)).is_err());
    }
}
