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

/// What [`RandomErasing`] paints over the rectangle it picks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErasingFill {
    /// One value everywhere (0: black).
    Constant(f64),
    /// An independent uniform draw from `[low, high)` for every pixel and channel: noise the
    /// network cannot learn to recognise as "erased", as Zhong et al. recommend.
    Uniform(f64, f64),
}

/// Random erasing (Zhong et al., 2017; Keras' `RandomErasing` layer, torchvision's
/// `RandomErasing`): with probability `probability`, paints over one rectangle of the image
/// whose area is a uniform fraction of the image's in `area` and whose height-to-width ratio is
/// log-uniform in `aspect_ratio`. The network then cannot lean on any one part of an object.
///
/// `Default` is the paper's setting for images scaled to [0, 1]: probability ½, 2–40% of the
/// area, aspect ratio 0.3–3.3, uniform noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomErasing {
    /// The chance that an image is erased at all, in [0, 1].
    pub probability: f64,
    /// The smallest and largest share of the image's area to erase, within (0, 1].
    pub area: (f64, f64),
    /// The smallest and largest height / width of the rectangle, positive.
    pub aspect_ratio: (f64, f64),
    /// What the rectangle is filled with.
    pub fill: ErasingFill,
}

impl Default for RandomErasing {
    fn default() -> Self {
        RandomErasing {
            probability: 0.5,
            area: (0.02, 0.4),
            aspect_ratio: (0.3, 1.0 / 0.3),
            fill: ErasingFill::Uniform(0.0, 1.0),
        }
    }
}

impl RandomErasing {
    /// Tries this many rectangles before giving up on an image (the paper's rule), so that a
    /// large area with an extreme ratio, which cannot fit, does not loop forever.
    const ATTEMPTS: usize = 10;

    /// Erases a rectangle of a float image (`[height, width]` or `[height, width, channels]`),
    /// or returns it unchanged with probability `1 − probability`.
    pub fn apply(&self, img: &Tensor, rng: &mut Generator) -> Result<Tensor> {
        let (h, w) = image_size("RandomErasing", img)?;
        self.check()?;
        if !img.dtype().is_float() {
            return Err(Error::Pipeline(format!(
                "RandomErasing: expected a float image (scale it first), found {:?}",
                img.dtype()
            )));
        }
        if h == 0 || w == 0 || rng.unit() >= self.probability {
            return Ok(img.clone());
        }
        let (ln_lo, ln_hi) = (self.aspect_ratio.0.ln(), self.aspect_ratio.1.ln());
        for _ in 0..Self::ATTEMPTS {
            let area = (h * w) as f64 * uniform(rng, self.area.0, self.area.1);
            let ratio = uniform(rng, ln_lo, ln_hi).exp();
            let eh = (area * ratio).sqrt().round() as usize;
            let ew = (area / ratio).sqrt().round() as usize;
            if eh == 0 || ew == 0 || eh > h || ew > w {
                continue;
            }
            let (top, left) = (rng.below(h - eh + 1), rng.below(w - ew + 1));
            return self.paint(img, (top, left), (eh, ew), rng);
        }
        Ok(img.clone())
    }

    /// A copy of `img` with the `size` rectangle at `corner` filled.
    fn paint(
        &self,
        img: &Tensor,
        corner: (usize, usize),
        size: (usize, usize),
        rng: &mut Generator,
    ) -> Result<Tensor> {
        let (w, channels) = (img.shape()[1], img.shape().get(2).copied().unwrap_or(1));
        let mut values = img.to_dtype(rill_core::DType::F64)?.to_vec::<f64>()?;
        for y in corner.0..corner.0 + size.0 {
            let row = (y * w + corner.1) * channels;
            for v in &mut values[row..row + size.1 * channels] {
                *v = match self.fill {
                    ErasingFill::Constant(c) => c,
                    ErasingFill::Uniform(lo, hi) => uniform(rng, lo, hi),
                };
            }
        }
        Ok(Tensor::from_vec(values, img.shape())?.to_dtype(img.dtype())?)
    }

    fn check(&self) -> Result<()> {
        let (a, r) = (self.area, self.aspect_ratio);
        let fill_ok = match self.fill {
            ErasingFill::Constant(c) => c.is_finite(),
            ErasingFill::Uniform(lo, hi) => lo.is_finite() && hi.is_finite() && lo <= hi,
        };
        if (0.0..=1.0).contains(&self.probability)
            && 0.0 < a.0
            && a.0 <= a.1
            && a.1 <= 1.0
            && 0.0 < r.0
            && r.0 <= r.1
            && r.1.is_finite()
            && fill_ok
        {
            return Ok(());
        }
        Err(Error::Pipeline(format!(
            "RandomErasing: probability must lie in [0, 1], area within (0, 1] with low ≤ high, \
             aspect_ratio positive and finite with low ≤ high, fill finite; found {self:?}"
        )))
    }
}

/// A uniform draw from `[lo, hi)`.
fn uniform(rng: &mut Generator, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.unit()
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

    /// The erased pixels of `out` against `img` (all 0.5): their bounding box and count.
    fn erased_box(out: &[f32], w: usize) -> Option<(usize, usize, usize, usize, usize)> {
        let changed: Vec<usize> = (0..out.len()).filter(|&i| out[i] != 0.5).collect();
        let (ys, xs): (Vec<_>, Vec<_>) = changed.iter().map(|&i| (i / w, i % w)).unzip();
        Some((
            *ys.iter().min()?,
            *ys.iter().max()?,
            *xs.iter().min()?,
            *xs.iter().max()?,
            changed.len(),
        ))
    }

    #[test]
    fn random_erasing_paints_one_rectangle_of_the_asked_size_as_often_as_asked() {
        let (h, w) = (28, 28);
        let img = Tensor::full(&[h, w], 0.5, DType::F32);
        let erase = RandomErasing {
            fill: ErasingFill::Constant(-1.0),
            ..RandomErasing::default()
        };
        let mut rng = Generator::new(3);
        let mut erased = 0;
        for _ in 0..400 {
            let out = erase.apply(&img, &mut rng).unwrap();
            assert_eq!(out.shape(), &[h, w]);
            assert_eq!(out.dtype(), DType::F32);
            let out = out.to_vec::<f32>().unwrap();
            let Some((y0, y1, x0, x1, count)) = erased_box(&out, w) else {
                continue;
            };
            erased += 1;
            // One solid rectangle: every pixel of the bounding box, and only those, is -1.
            let (eh, ew) = (y1 - y0 + 1, x1 - x0 + 1);
            assert_eq!(count, eh * ew);
            assert!((y0..=y1).all(|y| (x0..=x1).all(|x| out[y * w + x] == -1.0)));
            // Rounding the sides can move the area a little outside 2–40%, not far.
            let share = count as f64 / (h * w) as f64;
            assert!((0.01..=0.45).contains(&share), "area {share}");
            let ratio = eh as f64 / ew as f64;
            assert!((0.2..=5.0).contains(&ratio), "ratio {ratio}");
        }
        assert!((160..=240).contains(&erased), "{erased} of 400 erased");
    }

    #[test]
    fn random_erasing_fills_every_channel_with_noise_in_range() {
        let img = Tensor::full(&[10, 12, 3], 0.5, DType::F64);
        let erase = RandomErasing {
            probability: 1.0,
            fill: ErasingFill::Uniform(2.0, 3.0),
            ..RandomErasing::default()
        };
        for seed in 0..20 {
            let out = erase.apply(&img, &mut Generator::new(seed)).unwrap();
            let v = out.to_vec::<f64>().unwrap();
            let noise: Vec<f64> = v.iter().copied().filter(|&x| x != 0.5).collect();
            // The paper's attempts can all fail on a small image; most do not.
            if noise.is_empty() {
                continue;
            }
            assert_eq!(noise.len() % 3, 0, "whole pixels, all channels");
            assert!(noise.iter().all(|x| (2.0..3.0).contains(x)));
            let distinct: std::collections::BTreeSet<u64> =
                noise.iter().map(|x| x.to_bits()).collect();
            assert!(distinct.len() > noise.len() / 2, "independent draws");
        }
        // The same seed erases the same way.
        let a = erase.apply(&img, &mut Generator::new(7)).unwrap();
        let b = erase.apply(&img, &mut Generator::new(7)).unwrap();
        assert_eq!(a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
    }

    #[test]
    fn random_erasing_refuses_bad_settings_and_integer_images() {
        let img = Tensor::full(&[8, 8], 0.5, DType::F32);
        let mut rng = Generator::new(0);
        let bad = [
            RandomErasing {
                probability: 1.5,
                ..RandomErasing::default()
            },
            RandomErasing {
                area: (0.0, 0.3),
                ..RandomErasing::default()
            },
            RandomErasing {
                area: (0.5, 0.2),
                ..RandomErasing::default()
            },
            RandomErasing {
                area: (0.1, 1.5),
                ..RandomErasing::default()
            },
            RandomErasing {
                aspect_ratio: (-1.0, 2.0),
                ..RandomErasing::default()
            },
            RandomErasing {
                fill: ErasingFill::Uniform(1.0, 0.0),
                ..RandomErasing::default()
            },
            RandomErasing {
                fill: ErasingFill::Constant(f64::NAN),
                ..RandomErasing::default()
            },
        ];
        for erase in bad {
            let e = erase.apply(&img, &mut rng).unwrap_err();
            assert!(e.to_string().contains("RandomErasing"), "{e}");
        }
        let bytes = Tensor::zeros(&[8, 8], DType::U8);
        let e = RandomErasing::default()
            .apply(&bytes, &mut rng)
            .unwrap_err();
        assert!(e.to_string().contains("float"), "{e}");
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
