//! String tensors ([`DType::Str`]): raw text carried through batching, shuffling and saving until
//! a preprocessing layer turns it into numbers, as Keras' `string` tensors are.
//!
//! Strings are not `Copy`, so the generic kernels cannot move them. The ops that only move
//! elements (a contiguous copy, selection along an axis, concatenation) run on the *positions*
//! of the strings instead — an `i64` tensor with the same layout — and the strings are looked up
//! by the positions that come out. Views (reshape of a contiguous tensor, transpose, slice,
//! broadcast) need nothing: they change the layout only.

use crate::dtype::DType;
use crate::error::{Error, Result, ShapeDisplay};
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    /// A string tensor holding `data` with `shape` (row-major).
    ///
    /// ```
    /// use rill_core::{DType, Tensor};
    /// let t = Tensor::from_strings(vec!["a great film", "dull"], &[2])?;
    /// assert_eq!(t.dtype(), DType::Str);
    /// assert_eq!(t.index_select(0, &Tensor::from_vec(vec![1i64], &[1])?)?.strings()?, ["dull"]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn from_strings<S: Into<String>>(data: Vec<S>, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(Error::shape(
                "from_strings",
                format!(
                    "shape {} needs {n} strings, found {}",
                    ShapeDisplay(shape),
                    data.len()
                ),
            ));
        }
        let data = data.into_iter().map(Into::into).collect();
        Ok(Tensor::from_parts(Storage::Str(data), shape))
    }

    /// The strings in row-major order (copies). An error for other dtypes.
    pub fn strings(&self) -> Result<Vec<String>> {
        let all = self.string_storage("strings")?;
        Ok(self.layout().indices().map(|i| all[i].clone()).collect())
    }

    /// The string at each position of a contiguous string tensor, borrowed.
    pub(crate) fn string_storage(&self, op: &'static str) -> Result<&[String]> {
        match &**self.storage() {
            Storage::Str(v) => Ok(v),
            other => Err(Error::dtype(
                op,
                format!("expected a string tensor, found {}", other.dtype()),
            )),
        }
    }

    /// An `i64` tensor of storage positions seen through this tensor's layout.
    fn positions(&self, base: i64) -> Tensor {
        let n = self.storage().len() as i64;
        let positions = Storage::I64((base..base + n).collect());
        Tensor::from_storage(Arc::new(positions), self.layout().clone())
    }

    /// Runs an element-moving `op` on this string tensor's positions and looks the strings up.
    pub(crate) fn strings_moved(
        &self,
        op: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let all = self.string_storage("strings")?;
        let moved = op(&self.positions(0))?;
        let picked = moved
            .data::<i64>()?
            .iter()
            .map(|&p| all[p as usize].clone())
            .collect();
        Ok(Tensor::from_parts(Storage::Str(picked), moved.shape()))
    }

    /// Concatenation of string tensors: the positions of each index into one joint table.
    pub(crate) fn strings_concatenated(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let mut table: Vec<&String> = Vec::new();
        let mut positions = Vec::with_capacity(tensors.len());
        for t in tensors {
            let all = t.string_storage("concat")?;
            positions.push(t.positions(table.len() as i64));
            table.extend(all);
        }
        let joined = Tensor::concat(&positions, axis)?;
        let picked = joined
            .data::<i64>()?
            .iter()
            .map(|&p| table[p as usize].clone())
            .collect();
        Ok(Tensor::from_parts(Storage::Str(picked), joined.shape()))
    }
}

/// The error every numeric op gives a string tensor.
pub(crate) fn not_for_strings(op: &'static str) -> Error {
    Error::dtype(
        op,
        format!(
            "{op} does not take {} tensors: turn text into numbers first (TextVectorization, StringLookup, Hashing)",
            DType::Str
        ),
    )
}

/// A number written as text, as `tf.strings.as_string` does (integers without a fraction).
pub(crate) fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Text read as a number, as `tf.strings.to_number` does; what is not a number is an error.
pub(crate) fn text_number(op: &'static str, s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| Error::invalid(op, format!("the string {s:?} is not a number")))
}
