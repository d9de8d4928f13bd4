use crate::backend::cpu::{col2im, gemm_uninit, im2col, MatRef, PatchGeometry};
use crate::dtype::Element;
use crate::error::{Error, Result, ShapeDisplay};
use crate::tensor::Tensor;

/// How a sliding window treats the border, as in Keras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding: windows lie wholly inside the input.
    #[default]
    Valid,
    /// Zero padding so that the output size is ⌈input / stride⌉ (TensorFlow's split: the extra
    /// row or column goes after).
    Same,
}

/// Strides, padding and dilation of a 2-D convolution or pooling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Vertical and horizontal step.
    pub strides: (usize, usize),
    /// Border handling.
    pub padding: Padding,
    /// Gap between window taps (1 = dense).
    pub dilation: (usize, usize),
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            strides: (1, 1),
            padding: Padding::Valid,
            dilation: (1, 1),
        }
    }
}

/// Output size and leading padding along one spatial dimension.
fn out_and_pad(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> (usize, usize) {
    // Saturating: a window size read from a file must give an error, not an overflow.
    let span = (k - 1).saturating_mul(dilation).saturating_add(1);
    match padding {
        Padding::Valid => (
            if input >= span {
                (input - span) / stride + 1
            } else {
                0
            },
            0,
        ),
        Padding::Same => (
            input.div_ceil(stride),
            same_padding(input, k, stride, dilation).0,
        ),
    }
}

/// The padding `same` adds along one spatial dimension of size `input` for a window of `k` taps
/// `dilation` apart moving by `stride`, as (before, after): TensorFlow's split, the odd pixel
/// after. Exporters that write explicit pads (ONNX) use it to say what `same` means.
pub fn same_padding(input: usize, k: usize, stride: usize, dilation: usize) -> (usize, usize) {
    // Saturating: a window size read from a file must give an error, not an overflow.
    let span = (k.max(1) - 1).saturating_mul(dilation).saturating_add(1);
    let out = input.div_ceil(stride.max(1));
    let total =
        ((out.max(1) - 1).saturating_mul(stride).saturating_add(span)).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// The per-sample output height and width of a `window` sliding over per-sample inputs of
/// `hwc` = (height, width, channels): the shape rule of conv2d and the pooling ops, for layers'
/// `compute_output_shape`. Errors as the op itself would on such an input.
pub fn window_output_size(
    op: &'static str,
    hwc: &[usize],
    window: (usize, usize),
    options: &Conv2dOptions,
) -> Result<(usize, usize)> {
    let mut shape = vec![0];
    shape.extend_from_slice(hwc);
    let g = geometry(op, &shape, window.0, window.1, options)?;
    Ok((g.oh, g.ow))
}

/// The window geometry over an NHWC input of `shape` for a `kh`×`kw` window.
pub(crate) fn geometry(
    op: &'static str,
    shape: &[usize],
    kh: usize,
    kw: usize,
    o: &Conv2dOptions,
) -> Result<PatchGeometry> {
    if shape.len() != 4 {
        return Err(Error::shape(
            op,
            format!(
                "expected an NHWC input of rank 4, found shape {}",
                ShapeDisplay(shape)
            ),
        ));
    }
    if kh == 0
        || kw == 0
        || o.strides.0 == 0
        || o.strides.1 == 0
        || o.dilation.0 == 0
        || o.dilation.1 == 0
    {
        return Err(Error::invalid(
            op,
            format!(
                "window {kh}x{kw}, strides {:?} and dilation {:?} must all be positive",
                o.strides, o.dilation
            ),
        ));
    }
    let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3]);
    let (oh, pad_top) = out_and_pad(h, kh, o.strides.0, o.dilation.0, o.padding);
    let (ow, pad_left) = out_and_pad(w, kw, o.strides.1, o.dilation.1, o.padding);
    if oh == 0 || ow == 0 {
        return Err(Error::shape(
            op,
            format!(
                "a {kh}x{kw} window does not fit input {} with {:?} padding",
                ShapeDisplay(shape),
                o.padding
            ),
        ));
    }
    Ok(PatchGeometry {
        n,
        h,
        w,
        c,
        kh,
        kw,
        sh: o.strides.0,
        sw: o.strides.1,
        dh: o.dilation.0,
        dw: o.dilation.1,
        pad_top,
        pad_left,
        oh,
        ow,
    })
}

impl Tensor {
    /// Every `kh`×`kw` window of an NHWC batch as a row: `[N, OH, OW, kh·kw·C]` (im2col,
    /// TensorFlow's `extract_patches`). Padding positions read as zero.
    pub fn extract_patches(&self, kh: usize, kw: usize, options: &Conv2dOptions) -> Result<Tensor> {
        const OP: &str = "extract_patches";
        let g = geometry(OP, self.shape(), kh, kw, options)?;
        let storage = crate::dispatch_float!(self.dtype(), OP, T => Ok(T::into_storage(im2col(&self.data::<T>()?, &g))))?;
        let shape = [g.n, g.oh, g.ow, g.patch_len()];
        let in_shape = self.shape().to_vec();
        Ok(Tensor::record(storage, &shape, &[self], OP, move |ctx| {
            let gr = ctx.grad;
            let storage = crate::dispatch_float!(gr.dtype(), OP, T => Ok(T::into_storage(col2im(&gr.data::<T>()?, &g))))?;
            Ok(vec![Some(Tensor::from_parts(storage, &in_shape))])
        }))
    }

    /// 2-D convolution of an NHWC input with an HWIO kernel (Keras' `channels_last`), as
    /// patches · kernel: the gradient comes from [`Tensor::extract_patches`] and [`Tensor::matmul`].
    pub fn conv2d(&self, kernel: &Tensor, options: &Conv2dOptions) -> Result<Tensor> {
        const OP: &str = "conv2d";
        if kernel.rank() != 4 {
            return Err(Error::shape(
                OP,
                format!(
                    "expected an HWIO kernel of rank 4, found shape {}",
                    ShapeDisplay(kernel.shape())
                ),
            ));
        }
        let (kh, kw, ci, co) = (
            kernel.shape()[0],
            kernel.shape()[1],
            kernel.shape()[2],
            kernel.shape()[3],
        );
        if self.rank() == 4 && self.shape()[3] != ci {
            return Err(Error::shape(
                OP,
                format!(
                    "input channels differ: input {} has {}, kernel {} expects {ci}",
                    ShapeDisplay(self.shape()),
                    self.shape()[3],
                    ShapeDisplay(kernel.shape())
                ),
            ));
        }
        let tracked = Tensor::records_from(&[self, kernel]);
        if !tracked && self.dtype() == kernel.dtype() && self.dtype().is_float() {
            return self.conv2d_in_groups(kernel, options);
        }
        let patches = self.extract_patches(kh, kw, options)?;
        let (n, oh, ow) = (patches.shape()[0], patches.shape()[1], patches.shape()[2]);
        let rows = patches.reshape(&[n * oh * ow, kh * kw * ci])?;
        rows.matmul(&kernel.reshape(&[kh * kw * ci, co])?)?
            .reshape(&[n, oh, ow, co])
    }

    /// A convolution no gradient will flow through (prediction, evaluation): the images go
    /// through in groups whose patches take at most [`PATCH_BUDGET_BYTES`], each group's
    /// patches multiplied into its slice of the output at once. Evaluating the tutorial's CNN on
    /// batches of 1,000 held 226 MB of patches for its second layer; a group's stay in cache.
    fn conv2d_in_groups(&self, kernel: &Tensor, options: &Conv2dOptions) -> Result<Tensor> {
        const OP: &str = "conv2d";
        let (kh, kw, co) = (kernel.shape()[0], kernel.shape()[1], kernel.shape()[3]);
        let g = geometry(OP, self.shape(), kh, kw, options)?;
        let plen = g.patch_len();
        let (per_input, pixels) = (g.h * g.w * g.c, g.oh * g.ow);
        let storage = crate::dispatch_float!(self.dtype(), OP, T => {
            let (x, k) = (self.data::<T>()?, kernel.data::<T>()?);
            let len = g.n * pixels * co;
            let mut out: Vec<T> = Vec::with_capacity(len);
            let per_image_bytes = (pixels * plen * std::mem::size_of::<T>()).max(1);
            let group = (PATCH_BUDGET_BYTES / per_image_bytes).clamp(1, g.n.max(1));
            let weights = MatRef { data: &k, offset: 0, row_stride: co, col_stride: 1 };
            for first in (0..g.n).step_by(group) {
                let images = group.min(g.n - first);
                let part = PatchGeometry { n: images, ..g };
                let patches = im2col(&x[first * per_input..(first + images) * per_input], &part);
                let rows = MatRef { data: &patches, offset: 0, row_stride: plen, col_stride: 1 };
                let dst = &mut out.spare_capacity_mut()[first * pixels * co..][..images * pixels * co];
                gemm_uninit(images * pixels, co, plen, rows, weights, dst);
            }
            // SAFETY: the groups tile the images `0..n`, and `gemm_uninit` writes every element
            // of its slice, so all `len` elements (capacity `len`) are set.
            unsafe { out.set_len(len) };
            Ok(T::into_storage(out))
        })?;
        crate::profile::forward_done(OP);
        Ok(Tensor::from_parts(storage, &[g.n, g.oh, g.ow, co]))
    }
}

/// The most memory a group of images' patches may take in [`Tensor::conv2d`] without
/// gradients: small enough to stay in a last-level cache, large enough that each group's
/// product keeps both cores busy.
const PATCH_BUDGET_BYTES: usize = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{no_grad, DType, Generator};

    /// Without gradients the images go through in groups; the result must be the composed
    /// path's (patches, then one product), here with 7 images in groups of 4 and 3, strided
    /// and padded.
    #[test]
    fn grouped_inference_matches_the_recorded_convolution() {
        let mut g = Generator::new(3);
        let x = g.normal(&[7, 40, 40, 16], 0.0, 1.0, DType::F32).unwrap();
        let k = g.normal(&[3, 3, 16, 5], 0.0, 0.3, DType::F32).unwrap();
        let per_image = 40 * 40 * 3 * 3 * 16 * 4;
        assert!(
            PATCH_BUDGET_BYTES / per_image == 4,
            "the test wants groups of 4 and 3"
        );
        for options in [
            Conv2dOptions {
                padding: Padding::Same,
                ..Default::default()
            },
            Conv2dOptions {
                strides: (2, 1),
                padding: Padding::Valid,
                dilation: (1, 2),
            },
        ] {
            let grouped = no_grad(|| x.conv2d(&k, &options)).unwrap();
            let tracked = k.clone().set_requires_grad(true).unwrap();
            let recorded = x.conv2d(&tracked, &options).unwrap();
            assert!(recorded.requires_grad() && !grouped.requires_grad());
            assert_eq!(grouped.shape(), recorded.shape());
            let (a, b) = (
                grouped.to_vec::<f32>().unwrap(),
                recorded.to_vec::<f32>().unwrap(),
            );
            let worst = a
                .iter()
                .zip(&b)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{options:?}: differs by {worst}");
        }
    }
}
