//! Tensors made from nothing: constants, ranges, identity.

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// A tensor of `shape` filled with `value` (converted to `dtype` as by `as`).
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        let n = shape.iter().product();
        crate::dispatch_any!(dtype, T => Tensor::from_parts(T::into_storage(vec![T::from_f64(value); n]), shape),
            // Keras and TensorFlow fill string tensors with empty strings (`tf.zeros(…, tf.string)`).
            string => Tensor::from_parts(crate::Storage::Str(vec![String::new(); n]), shape))
    }
    /// Zeros of `shape` and `dtype`.
    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 0.0, dtype)
    }
    /// Ones of `shape` and `dtype`.
    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 1.0, dtype)
    }
    /// Zeros with this tensor's shape and dtype.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape(), self.dtype())
    }
    /// Ones with this tensor's shape and dtype.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape(), self.dtype())
    }
    /// `start, start + step, ...` up to but excluding `end`, as a 1-D tensor.
    ///
    /// ```
    /// let t = rill_core::Tensor::arange(0.0, 5.0, 2.0, rill_core::DType::I64)?;
    /// assert_eq!(t.to_vec::<i64>()?, vec![0, 2, 4]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::invalid(
                "arange",
                format!(
                    "start {start}, end {end} and step {step} must be finite and step non-zero"
                ),
            ));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        Ok(crate::dispatch_any!(dtype, T => {
            let v: Vec<T> = (0..n).map(|i| T::from_f64(start + i as f64 * step)).collect();
            Tensor::from_parts(T::into_storage(v), &[n])
        }, string => return Err(crate::strings::not_for_strings("arange"))))
    }
    /// `num` evenly spaced values from `start` to `stop`, both included.
    pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Tensor {
        let step = if num > 1 {
            (stop - start) / (num - 1) as f64
        } else {
            0.0
        };
        crate::dispatch_any!(dtype, T => {
            let v: Vec<T> = (0..num).map(|i| T::from_f64(if i + 1 == num && num > 1 { stop } else { start + i as f64 * step })).collect();
            Tensor::from_parts(T::into_storage(v), &[num])
        }, string => Tensor::linspace(start, stop, num, DType::F64).to_dtype(DType::Str).unwrap_or_else(|_| Tensor::full(&[num], 0.0, DType::Str)))
    }
    /// The `n`×`n` identity matrix.
    pub fn eye(n: usize, dtype: DType) -> Tensor {
        crate::dispatch_any!(dtype, T => {
            let mut v = vec![T::from_f64(0.0); n * n];
            for i in 0..n {
                v[i * n + i] = T::from_f64(1.0);
            }
            Tensor::from_parts(T::into_storage(v), &[n, n])
        }, string => Tensor::eye(n, DType::I64).to_dtype(DType::Str).unwrap_or_else(|_| Tensor::full(&[n, n], 0.0, DType::Str)))
    }
}
