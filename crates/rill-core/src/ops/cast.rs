use crate::dtype::{DType, Element};
use crate::error::Result;
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
            crate::dispatch_any!(dtype, D => D::into_storage(crate::backend::cpu::map(&src, |v: S| D::from_f64(v.to_f64()))))
        });
        let from = self.dtype();
        Ok(Tensor::record(
            storage,
            self.shape(),
            &[self],
            "cast",
            move |ctx| {
                Ok(vec![from
                    .is_float()
                    .then(|| ctx.grad.to_dtype(from))
                    .transpose()?])
            },
        ))
    }
}
