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
///
/// The output is written once, never zero-filled first: this is the largest buffer of a
/// convolution, and filling it would double its memory traffic.
pub fn im2col<T: Float + Send + Sync>(x: &[T], g: &PatchGeometry) -> Vec<T> {
    let plen = g.patch_len();
    let per_image = g.oh * g.ow * plen;
    let per_input = g.h * g.w * g.c;
    let total = g.n * per_image;
    if per_image == 0 || per_input == 0 {
        return vec![T::zero(); total];
    }
    let row_len = g.kw * g.c;
    let mut out: Vec<T> = Vec::with_capacity(total);
    out.spare_capacity_mut()[..total]
        .par_chunks_mut(per_image)
        .zip(x.par_chunks(per_input))
        .for_each(|(img, src)| {
            // Row by row of the output, kernel row by kernel row: the input row under a kernel
            // row is found once for all `ow` patches of the output row, not once per patch
            // (with one input channel a kernel row is 3 values, and finding its source cost
            // more than copying it).
            for (oy, out_row) in img.chunks_exact_mut(g.ow * plen).enumerate() {
                for ki in 0..g.kh {
                    let y = (oy * g.sh + ki * g.dh)
                        .checked_sub(g.pad_top)
                        .filter(|&y| y < g.h);
                    let rows = out_row
                        .chunks_exact_mut(plen)
                        .map(|p| &mut p[ki * row_len..][..row_len]);
                    let Some(y) = y else {
                        // A kernel row in the padding above or below.
                        rows.flatten().for_each(|d| {
                            d.write(T::zero());
                        });
                        continue;
                    };
                    let src_row = &src[y * g.w * g.c..][..g.w * g.c];
                    for (ox, row) in rows.enumerate() {
                        let first = (ox * g.sw).checked_sub(g.pad_left);
                        match first {
                            // Undilated and inside the image: the kernel row is one run.
                            Some(x0) if g.dw == 1 && x0 + g.kw <= g.w => {
                                write_run(row, &src_row[x0 * g.c..][..row_len]);
                            }
                            _ => {
                                for (kj, cell) in row.chunks_exact_mut(g.c).enumerate() {
                                    let xx = (ox * g.sw + kj * g.dw)
                                        .checked_sub(g.pad_left)
                                        .filter(|&xx| xx < g.w);
                                    match xx {
                                        Some(xx) => write_run(cell, &src_row[xx * g.c..][..g.c]),
                                        None => cell.iter_mut().for_each(|d| {
                                            d.write(T::zero());
                                        }),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
    // SAFETY: `out` has capacity `total`, and the loop above initialised each of its first
    // `total` elements: the image chunks tile [0, total) (per_image divides it), output rows
    // of `ow` patches tile each image (oh rows), patches tile each output row (plen divides
    // ow·plen), and for each of the `kh` kernel rows every patch's row of `row_len = kw·c`
    // values (the kernel rows tile the patch) is written whole — zeroed, by one run of
    // `row_len` values, or cell by cell, each of its `kw` cells of `c` values copied or zeroed.
    unsafe { out.set_len(total) };
    out
}

/// Copies `src` into the uninitialised `dst` of the same length (an inline loop: the runs are
/// often a handful of values, too short for a call to memcpy to pay).
#[inline]
fn write_run<T: Copy>(dst: &mut [std::mem::MaybeUninit<T>], src: &[T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(s);
    }
}

/// The adjoint of [`im2col`]: adds every patch element back onto the input position it came from.
pub fn col2im<T: Float + Send + Sync>(cols: &[T], g: &PatchGeometry) -> Vec<T> {
    let mut out = vec![T::zero(); g.n * g.h * g.w * g.c];
    col2im_add(cols, g, &mut out);
    out
}

/// [`col2im`] added onto `out`, an NHWC batch of `g.n` images.
pub fn col2im_add<T: Float + Send + Sync>(cols: &[T], g: &PatchGeometry, out: &mut [T]) {
    let plen = g.patch_len();
    let per_image = g.h * g.w * g.c;
    assert_eq!(
        out.len(),
        g.n * per_image,
        "col2im: output of the wrong size"
    );
    if per_image == 0 {
        return;
    }
    out.par_chunks_mut(per_image)
        .enumerate()
        .for_each(|(b, img)| {
            let src = &cols[b * g.oh * g.ow * plen..(b + 1) * g.oh * g.ow * plen];
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let patch = &src[(oy * g.ow + ox) * plen..(oy * g.ow + ox + 1) * plen];
                    let row_len = g.kw * g.c;
                    for ki in 0..g.kh {
                        let whole_row = g.dw == 1
                            && g.source(oy, ox, ki, 0).is_some()
                            && g.source(oy, ox, ki, g.kw - 1).is_some();
                        if whole_row {
                            // As in `im2col`: an undilated kernel row inside the image is one run.
                            let (y, xx) = g.source(oy, ox, ki, 0).unwrap_or_default();
                            let (s, d) = (ki * row_len, (y * g.w + xx) * g.c);
                            for (o, &v) in
                                img[d..d + row_len].iter_mut().zip(&patch[s..s + row_len])
                            {
                                *o = *o + v;
                            }
                            continue;
                        }
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
}
