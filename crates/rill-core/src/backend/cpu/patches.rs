use num_traits::Float;
use rayon::prelude::*;

/// Where a sliding 2-D window goes over an NHWC batch (for convolution and pooling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchGeometry {
    /// Batch size.
    pub n: usize,
    /// Input height, width and channels.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Window height and width.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Vertical and horizontal stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Vertical and horizontal dilation.
    pub dh: usize,
    /// Horizontal dilation.
    pub dw: usize,
    /// Zero rows added above and columns added to the left.
    pub pad_top: usize,
    /// Zero columns added to the left.
    pub pad_left: usize,
    /// Output height and width.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl PatchGeometry {
    /// The length of one patch row: kh·kw·c.
    pub fn patch_len(&self) -> usize {
        self.kh * self.kw * self.c
    }
    /// The input row and column under window element (ki, kj) of output position (oy, ox), if
    /// it is not in the padding.
    #[inline]
    pub fn source(&self, oy: usize, ox: usize, ki: usize, kj: usize) -> Option<(usize, usize)> {
        let y = (oy * self.sh + ki * self.dh).checked_sub(self.pad_top)?;
        let x = (ox * self.sw + kj * self.dw).checked_sub(self.pad_left)?;
        (y < self.h && x < self.w).then_some((y, x))
    }
}

/// Unfolds an NHWC batch into patches: output [n, oh, ow, kh·kw·c], zeros for padding.
pub fn im2col<T: Float + Send + Sync>(x: &[T], g: &PatchGeometry) -> Vec<T> {
    let plen = g.patch_len();
    let per_image = g.oh * g.ow * plen;
    let mut out = vec![T::zero(); g.n * per_image];
    if per_image == 0 {
        return out;
    }
    out.par_chunks_mut(per_image)
        .enumerate()
        .for_each(|(b, img)| {
            let src = &x[b * g.h * g.w * g.c..(b + 1) * g.h * g.w * g.c];
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let patch = &mut img[(oy * g.ow + ox) * plen..(oy * g.ow + ox + 1) * plen];
                    for ki in 0..g.kh {
                        for kj in 0..g.kw {
                            if let Some((y, xx)) = g.source(oy, ox, ki, kj) {
                                let dst = (ki * g.kw + kj) * g.c;
                                let s = (y * g.w + xx) * g.c;
                                patch[dst..dst + g.c].copy_from_slice(&src[s..s + g.c]);
                            }
                        }
                    }
                }
            }
        });
    out
}

/// The adjoint of [`im2col`]: adds every patch element back onto the input position it came from.
pub fn col2im<T: Float + Send + Sync>(cols: &[T], g: &PatchGeometry) -> Vec<T> {
    let plen = g.patch_len();
    let per_image = g.h * g.w * g.c;
    let mut out = vec![T::zero(); g.n * per_image];
    if per_image == 0 {
        return out;
    }
    out.par_chunks_mut(per_image)
        .enumerate()
        .for_each(|(b, img)| {
            let src = &cols[b * g.oh * g.ow * plen..(b + 1) * g.oh * g.ow * plen];
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let patch = &src[(oy * g.ow + ox) * plen..(oy * g.ow + ox + 1) * plen];
                    for ki in 0..g.kh {
                        for kj in 0..g.kw {
                            if let Some((y, xx)) = g.source(oy, ox, ki, kj) {
                                let s = (ki * g.kw + kj) * g.c;
                                let d = (y * g.w + xx) * g.c;
                                for (o, &v) in img[d..d + g.c].iter_mut().zip(&patch[s..s + g.c]) {
                                    *o = *o + v;
                                }
                            }
                        }
                    }
                }
            }
        });
    out
}
