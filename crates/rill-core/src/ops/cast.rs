use crate::dtype::{DType, Element};
use crate::error::Result;
use crate::storage::Storage;
use crate::tensor::Tensor;

impl Tensor {
    /// The elements converted to `dtype` (floats to integers truncate toward zero and saturate,
    /// as Rust's `as`; anything to bool is `!= 0`). Float-to-float casts pass gradients back.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let storage = crate::dispatch_any!(self.dtype(), S => {
            let src = self.data::<S>()?;
            crate::dispatch_any!(dtype, D => D::into_storage(crate::backend::cpu::map(&src, |v: S| D::from_f64(v.to_f64()))),
                string => Storage::Str(src.iter().map(|&v| crate::strings::number_text(v.to_f64())).collect()))
        }, string => {
            // Text to numbers parses each string (`tf.strings.to_number`); no gradient.
            let numbers = self
                .strings()?
                .iter()
                .map(|s| crate::strings::text_number("cast", s))
                .collect::<Result<Vec<f64>>>()?;
            crate::dispatch_any!(dtype, D => D::into_storage(numbers.iter().map(|&v| D::from_f64(v)).collect()),
                // Not reached (same dtype returns early), but the round trip is what it means.
                string => Storage::Str(numbers.iter().map(|&v| crate::strings::number_text(v)).collect()))
        });
        Ok(self.record_cast(storage, 1.0))
    }

    /// A cast's result, recorded: a float input gets the output's gradient back, times
    /// `scale`, in its own dtype; other inputs get none.
    fn record_cast(&self, storage: Storage, scale: f64) -> Tensor {
        let from = self.dtype();
        Tensor::record(storage, self.shape(), &[self], "cast", move |ctx| {
            let back = || {
                let grad = if scale == 1.0 {
                    ctx.grad.clone()
                } else {
                    ctx.grad.mul_scalar(scale)?
                };
                grad.to_dtype(from)
            };
            Ok(vec![from.is_float().then(back).transpose()?])
        })
    }
}

impl Tensor {
    /// `f32(x) · scale + offset` in one pass (what Keras' `Rescaling` does to raw bytes), the
    /// same to the bit as `to_dtype(F32)` followed by `mul_scalar(scale)` and, when `offset` is
    /// not 0, `add_scalar(offset)`: one new tensor is written instead of two or three. Float
    /// inputs pass gradients back (times `scale`, in their own dtype).
    pub fn to_f32_scaled(&self, scale: f64, offset: f64) -> Result<Tensor> {
        let (scale, shift) = (scale as f32, offset as f32);
        let storage = crate::dispatch_any!(self.dtype(), S => {
            let src = self.data::<S>()?;
            let values = if offset == 0.0 {
                crate::backend::cpu::map(&src, |v: S| v.to_f64() as f32 * scale)
            } else {
                crate::backend::cpu::map(&src, |v: S| v.to_f64() as f32 * scale + shift)
            };
            f32::into_storage(values)
        }, string => return Err(crate::strings::not_for_strings("to_f32_scaled")));
        Ok(self.record_cast(storage, scale as f64))
    }
}
