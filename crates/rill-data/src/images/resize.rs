//! Bilinear resizing of 8-bit pictures: a triangle filter widened by the scale when shrinking,
//! so that every source pixel counts (no aliasing), in two separable passes.

/// One output position's source pixels: the first index and the weights (summing to 1).
struct Taps {
    first: usize,
    weights: Vec<f32>,
}

/// The taps of each of `to` output positions along an axis of `from` source pixels: the
/// output pixel's centre maps to `(o + 0.5) · from / to` in the source; the triangle spans one
/// source pixel each side, or one output pixel's worth of source when shrinking.
fn taps(from: usize, to: usize) -> Vec<Taps> {
    let ratio = from as f32 / to as f32;
    let scale = ratio.max(1.0);
    (0..to)
        .map(|o| {
            let centre = (o as f32 + 0.5) * ratio;
            let first = (centre - scale).floor().max(0.0) as usize;
            let end = ((centre + scale).ceil() as usize).min(from);
            let mut weights: Vec<f32> = (first..end)
                .map(|i| (1.0 - ((i as f32 + 0.5 - centre) / scale).abs()).max(0.0))
                .collect();
            let total: f32 = weights.iter().sum();
            if total > 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            } else {
                // Cannot happen for from, to ≥ 1 (the nearest pixel is inside the span); kept
                // so that a degenerate case copies the nearest pixel rather than black.
                weights = vec![1.0];
            }
            let first = first.min(from - weights.len());
            Taps { first, weights }
        })
        .collect()
}

/// Resizes `pixels` (`height × width × channels`, row-major) to `to_height × to_width`.
pub(super) fn resize(
    pixels: &[u8],
    (height, width, channels): (usize, usize, usize),
    (to_height, to_width): (usize, usize),
) -> Vec<u8> {
    // Vertical pass into floats, then horizontal, rounding once at the end.
    let rows = taps(height, to_height);
    let mut tall = vec![0f32; to_height * width * channels];
    let row_len = width * channels;
    for (out, t) in tall.chunks_exact_mut(row_len).zip(&rows) {
        for (k, &w) in t.weights.iter().enumerate() {
            let src = &pixels[(t.first + k) * row_len..][..row_len];
            for (o, &v) in out.iter_mut().zip(src) {
                *o += w * v as f32;
            }
        }
    }
    let cols = taps(width, to_width);
    let mut out = Vec::with_capacity(to_height * to_width * channels);
    for row in tall.chunks_exact(row_len) {
        for t in &cols {
            for ch in 0..channels {
                let v: f32 = (t.weights.iter().enumerate())
                    .map(|(k, &w)| w * row[(t.first + k) * channels + ch])
                    .sum();
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_stay_inside_the_source() {
        for (from, to) in [(1, 1), (1, 5), (5, 1), (28, 7), (7, 28), (100, 33), (3, 4)] {
            for t in taps(from, to) {
                let total: f32 = t.weights.iter().sum();
                assert!((total - 1.0).abs() < 1e-5, "{from}->{to}: {total}");
                assert!(t.first + t.weights.len() <= from, "{from}->{to}");
            }
        }
    }

    #[test]
    fn the_same_size_is_a_copy_and_flat_stays_flat() {
        let px: Vec<u8> = (0..4 * 5 * 3).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(resize(&px, (4, 5, 3), (4, 5)), px);
        let flat = vec![93u8; 30 * 20];
        assert!(resize(&flat, (30, 20, 1), (7, 11)).iter().all(|&v| v == 93));
    }
}
