use crate::backend::cpu::{
    col2im, col2im_add, gemm, gemm_new, gemm_uninit, im2col, winograd_applies, winograd_conv3x3,
    winograd_conv3x3_input_grad, winograd_conv3x3_kernel_grad, MatRef, PatchGeometry,
};
use crate::dtype::DType;
use crate::dtype::Element;
use crate::dtype::FloatElement;
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
    /// patches · kernel. The images go through in groups whose patches stay in cache (see
    /// `PATCH_BUDGET_BYTES`), forward and backward: the patches are never held for the whole
    /// batch, and the backward pass unfolds each group again rather than keep them.
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
        if self.dtype() == kernel.dtype() && self.dtype().is_float() {
            return self.conv2d_in_groups(kernel, options);
        }
        // Other dtypes: the composed ops, which say what is wrong with them.
        let patches = self.extract_patches(kh, kw, options)?;
        let (n, oh, ow) = (patches.shape()[0], patches.shape()[1], patches.shape()[2]);
        let rows = patches.reshape(&[n * oh * ow, kh * kw * ci])?;
        rows.matmul(&kernel.reshape(&[kh * kw * ci, co])?)?
            .reshape(&[n, oh, ow, co])
    }

    /// The convolution of floats, in groups of images whose patches take at most
    /// [`PATCH_BUDGET_BYTES`]: each group's patches are multiplied into its slice of the output
    /// at once, and again (for the kernel's gradient) in the backward pass. Evaluating the
    /// tutorial's CNN on batches of 1,000 held 226 MB of patches for its second layer, and a
    /// training step of the residual network 29 MB, written to memory and read back twice; a
    /// group's stay in cache.
    fn conv2d_in_groups(&self, kernel: &Tensor, options: &Conv2dOptions) -> Result<Tensor> {
        const OP: &str = "conv2d";
        let (kh, kw, co) = (kernel.shape()[0], kernel.shape()[1], kernel.shape()[3]);
        let g = geometry(OP, self.shape(), kh, kw, options)?;
        // 3×3 windows with stride 1 in f32 go through Winograd's transforms, both ways.
        let winograd = self.dtype() == DType::F32 && winograd_applies(&g, co);
        let storage = if winograd {
            let (x, k) = (self.data::<f32>()?, kernel.data::<f32>()?);
            f32::into_storage(winograd_conv3x3(&x, &k, &g, co))
        } else {
            crate::dispatch_float!(self.dtype(), OP, T => {
                Ok(T::into_storage(grouped_forward(&self.data::<T>()?, &kernel.data::<T>()?, &g, co)))
            })?
        };
        let shape = [g.n, g.oh, g.ow, co];
        let (in_shape, kernel_shape) = (self.shape().to_vec(), kernel.shape().to_vec());
        Ok(Tensor::record(
            storage,
            &shape,
            &[self, kernel],
            OP,
            move |ctx| {
                let (x, k, grad) = (&ctx.inputs[0], &ctx.inputs[1], ctx.grad);
                let want = (ctx.needs[0], ctx.needs[1]);
                let (dx, dk) = if winograd && grad.dtype() == DType::F32 {
                    // Both gradients through the transforms too.
                    let (x, k, grad) = (x.data::<f32>()?, k.data::<f32>()?, grad.data::<f32>()?);
                    let dx = want
                        .0
                        .then(|| winograd_conv3x3_input_grad(&grad, &k, &g, co));
                    let dk = want
                        .1
                        .then(|| winograd_conv3x3_kernel_grad(&x, &grad, &g, co));
                    (dx.map(f32::into_storage), dk.map(f32::into_storage))
                } else {
                    crate::dispatch_float!(x.dtype(), OP, T => {
                        let (dx, dk) = grouped_backward(&x.data::<T>()?, &k.data::<T>()?, &grad.data::<T>()?, &g, co, want);
                        Ok((dx.map(T::into_storage), dk.map(T::into_storage)))
                    })?
                };
                Ok(vec![
                    dx.map(|s| Tensor::from_parts(s, &in_shape)),
                    dk.map(|s| Tensor::from_parts(s, &kernel_shape)),
                ])
            },
        ))
    }
}

/// How many images' patches fit in [`PATCH_BUDGET_BYTES`] (at least one, at most the batch).
fn images_per_group<T>(g: &PatchGeometry) -> usize {
    let per_image_bytes = (g.oh * g.ow * g.patch_len() * std::mem::size_of::<T>()).max(1);
    (PATCH_BUDGET_BYTES / per_image_bytes).clamp(1, g.n.max(1))
}

/// The first image of each group and the group's geometry.
fn groups<T>(g: &PatchGeometry) -> impl Iterator<Item = (usize, PatchGeometry)> + '_ {
    let group = images_per_group::<T>(g);
    (0..g.n).step_by(group).map(move |first| {
        let part = PatchGeometry {
            n: group.min(g.n - first),
            ..*g
        };
        (first, part)
    })
}

/// `x` (NHWC) convolved with the HWIO kernel `k` of `co` output channels: NHWC output.
fn grouped_forward<T: FloatElement>(x: &[T], k: &[T], g: &PatchGeometry, co: usize) -> Vec<T> {
    let plen = g.patch_len();
    let (per_input, pixels) = (g.h * g.w * g.c, g.oh * g.ow);
    let len = g.n * pixels * co;
    let mut out: Vec<T> = Vec::with_capacity(len);
    let weights = MatRef {
        data: k,
        offset: 0,
        row_stride: co,
        col_stride: 1,
    };
    for (first, part) in groups::<T>(g) {
        let patches = im2col(&x[first * per_input..][..part.n * per_input], &part);
        let rows = MatRef {
            data: &patches,
            offset: 0,
            row_stride: plen,
            col_stride: 1,
        };
        let dst = &mut out.spare_capacity_mut()[first * pixels * co..][..part.n * pixels * co];
        gemm_uninit(part.n * pixels, co, plen, rows, weights, dst);
    }
    // SAFETY: the groups tile the images `0..n`, and `gemm_uninit` writes every element of its
    // slice, so all `len` elements (capacity `len`) are set.
    unsafe { out.set_len(len) };
    out
}

/// The gradients of [`grouped_forward`] from the output gradient `grad`, for the input and
/// the kernel as `want`ed: per group, `dk += patchesᵀ · grad` (the patches unfolded again) and
/// `dx = col2im(grad · kᵀ)`.
fn grouped_backward<T: FloatElement>(
    x: &[T],
    k: &[T],
    grad: &[T],
    g: &PatchGeometry,
    co: usize,
    want: (bool, bool),
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let plen = g.patch_len();
    let (per_input, pixels) = (g.h * g.w * g.c, g.oh * g.ow);
    let mut dx = want.0.then(|| vec![T::zero(); g.n * per_input]);
    let mut dk = want.1.then(|| vec![T::zero(); plen * co]);
    // kᵀ (co × plen) and each group's patchesᵀ (plen × rows) are the same buffers, read across.
    let kt = MatRef {
        data: k,
        offset: 0,
        row_stride: 1,
        col_stride: co,
    };
    for (first, part) in groups::<T>(g) {
        let rows = part.n * pixels;
        let grad = MatRef {
            data: &grad[first * pixels * co..][..rows * co],
            offset: 0,
            row_stride: co,
            col_stride: 1,
        };
        let input = &x[first * per_input..][..part.n * per_input];
        if let Some(dk) = dk.as_mut() {
            let patches = im2col(input, &part);
            let pt = MatRef {
                data: &patches,
                offset: 0,
                row_stride: 1,
                col_stride: plen,
            };
            gemm(plen, co, rows, pt, grad, dk, true);
        }
        if let Some(dx) = dx.as_mut() {
            let dpatches = gemm_new(rows, plen, co, grad, kt);
            col2im_add(
                &dpatches,
                &part,
                &mut dx[first * per_input..][..part.n * per_input],
            );
        }
    }
    (dx, dk)
}

/// The most memory a group of images' patches may take in [`Tensor::conv2d`] without
/// gradients: small enough to stay in a last-level cache, large enough that each group's
/// product keeps both cores busy.
const PATCH_BUDGET_BYTES: usize = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{no_grad, DType, Generator};

    /// The composed convolution: every patch of the batch, then one product.
    fn composed(x: &Tensor, k: &Tensor, options: &Conv2dOptions) -> Tensor {
        let (kh, kw, ci, co) = (k.shape()[0], k.shape()[1], k.shape()[2], k.shape()[3]);
        let p = x.extract_patches(kh, kw, options).unwrap();
        let (n, oh, ow) = (p.shape()[0], p.shape()[1], p.shape()[2]);
        p.reshape(&[n * oh * ow, kh * kw * ci])
            .unwrap()
            .matmul(&k.reshape(&[kh * kw * ci, co]).unwrap())
            .unwrap()
            .reshape(&[n, oh, ow, co])
            .unwrap()
    }

    fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
        assert_eq!(a.shape(), b.shape(), "{what}");
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs() / (1.0 + q.abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{what}: differs by {worst}");
    }

    /// The images go through in groups (here 7 images in groups of 4 and 3), with and without
    /// gradients; the output and both gradients must be the composed path's, strided, padded
    /// and dilated.
    #[test]
    fn grouped_convolution_matches_the_composed_one() {
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
            let (xt, kt) = (
                x.clone().set_requires_grad(true).unwrap(),
                k.clone().set_requires_grad(true).unwrap(),
            );
            let recorded = xt.conv2d(&kt, &options).unwrap();
            let reference = composed(&xt, &kt, &options);
            assert!(recorded.requires_grad() && !grouped.requires_grad());
            assert_close(&grouped, &reference, "no-grad output");
            assert_close(&recorded, &reference, "output");
            let w = g.normal(reference.shape(), 0.0, 1.0, DType::F32).unwrap();
            let loss = |y: &Tensor| y.mul(&w).unwrap().sum(&[], false).unwrap();
            let (ours, theirs) = (
                loss(&recorded).backward().unwrap(),
                loss(&reference).backward().unwrap(),
            );
            for (t, what) in [(&xt, "input gradient"), (&kt, "kernel gradient")] {
                assert_close(ours.get(t).unwrap(), theirs.get(t).unwrap(), what);
            }
            // Only the kernel wants a gradient: the input's is not computed.
            let only_k = x.conv2d(&kt, &options).unwrap();
            let grads = loss(&only_k).backward().unwrap();
            assert!(grads.get(&x).is_none());
            assert_close(
                grads.get(&kt).unwrap(),
                theirs.get(&kt).unwrap(),
                "kernel only",
            );
        }
    }

    /// 3×3 windows with stride 1 and enough channels go through Winograd's transforms: the
    /// output and both gradients must be the composed path's, "same" and "valid", with odd
    /// sizes (a last tile half outside the output) and channel counts off any vector width.
    #[test]
    fn winograd_convolution_matches_the_composed_one() {
        let mut g = Generator::new(8);
        for (shape, ci, co, padding) in [
            ([2, 14, 14], 32, 64, Padding::Same),
            ([3, 9, 7], 13, 17, Padding::Same),
            ([2, 10, 11], 8, 8, Padding::Valid),
            ([1, 5, 4], 24, 9, Padding::Valid),
        ] {
            let options = Conv2dOptions {
                padding,
                ..Default::default()
            };
            let x = g
                .normal(&[shape[0], shape[1], shape[2], ci], 0.0, 1.0, DType::F32)
                .unwrap();
            let k = g.normal(&[3, 3, ci, co], 0.0, 0.3, DType::F32).unwrap();
            let what = format!("{shape:?}x{ci} -> {co}, {padding:?}");
            let geometry = geometry("test", x.shape(), 3, 3, &options).unwrap();
            assert!(
                crate::backend::cpu::winograd_applies(&geometry, co),
                "{what}"
            );
            let (xt, kt) = (
                x.clone().set_requires_grad(true).unwrap(),
                k.clone().set_requires_grad(true).unwrap(),
            );
            let ours = xt.conv2d(&kt, &options).unwrap();
            let reference = composed(&xt, &kt, &options);
            assert_close(&ours, &reference, &format!("{what}: output"));
            let w = g.normal(reference.shape(), 0.0, 1.0, DType::F32).unwrap();
            let loss = |y: &Tensor| y.mul(&w).unwrap().sum(&[], false).unwrap();
            let (ours, theirs) = (
                loss(&ours).backward().unwrap(),
                loss(&reference).backward().unwrap(),
            );
            for (t, grad) in [(&xt, "input gradient"), (&kt, "kernel gradient")] {
                assert_close(
                    ours.get(t).unwrap(),
                    theirs.get(t).unwrap(),
                    &format!("{what}: {grad}"),
                );
            }
        }
    }
}
