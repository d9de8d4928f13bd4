//! Softmax cross-entropy against integer labels as one op: what a classifier's loss runs every
//! step, done in one pass forward and one backward instead of seven small ops each way.

use crate::dtype::{Element, FloatElement};
use crate::error::{Error, Result, ShapeDisplay};
use crate::tensor::Tensor;

const OP: &str = "sparse_softmax_cross_entropy";

impl Tensor {
    /// `logsumexp(x) − x[label]` along the last axis: the cross-entropy of `softmax(self)`
    /// against integer class labels, one value per row (TensorFlow's
    /// `sparse_softmax_cross_entropy_with_logits`). `self` holds float logits `[..., C]`;
    /// `labels` has the leading shape `[...]`, any dtype, integer values in `0..C`. The
    /// gradient with respect to the logits is `(softmax(x) − onehot(label)) · g`.
    ///
    /// Equal, up to rounding, to `-log_softmax(-1)` gathered at the labels; one op instead of
    /// the seven (with the labels' reshape and cast) that a batch of 32 rows spends
    /// microseconds on each.
    pub fn sparse_softmax_cross_entropy(&self, labels: &Tensor) -> Result<Tensor> {
        let Some((&classes, rows_shape)) = self.shape().split_last() else {
            return Err(Error::shape(
                OP,
                "logits must have at least one axis (the classes)",
            ));
        };
        if classes == 0 {
            return Err(Error::shape(
                OP,
                "the logits' last axis (the classes) is empty",
            ));
        }
        if labels.shape() != rows_shape {
            return Err(Error::shape(
                OP,
                format!(
                    "labels of shape {} do not match logits of shape {} (one label per row)",
                    ShapeDisplay(labels.shape()),
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        let labels = class_indices(labels, classes)?;
        let track = Tensor::records_from(&[self]);
        let (losses, probabilities) = crate::dispatch_float!(self.dtype(), OP, T => {
            let (losses, p) = rows_forward(&self.data::<T>()?, classes, &labels, track);
            Ok((T::into_storage(losses), p.map(T::into_storage)))
        })?;
        let probabilities = probabilities.map(|p| Tensor::from_parts(p, self.shape()));
        Ok(Tensor::record(
            losses,
            rows_shape,
            &[self],
            OP,
            move |ctx| {
                let p = probabilities
                    .as_ref()
                    .ok_or_else(|| Error::invalid(OP, "the probabilities were not kept"))?;
                let storage = crate::dispatch_float!(p.dtype(), OP, T => {
                    Ok(T::into_storage(rows_backward(
                        &p.data::<T>()?,
                        &ctx.grad.data::<T>()?,
                        classes,
                        &labels,
                    )))
                })?;
                Ok(vec![Some(Tensor::from_parts(storage, p.shape()))])
            },
        ))
    }
}

/// The labels as class indices, each checked to be an integer in `0..classes`.
fn class_indices(labels: &Tensor, classes: usize) -> Result<Vec<usize>> {
    labels
        .to_f64_vec()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v >= 0.0 && v < classes as f64 {
                Ok(v as usize)
            } else {
                Err(Error::invalid(
                    OP,
                    format!("label {v} at index {i} is not a class index in 0..{classes}"),
                ))
            }
        })
        .collect()
}

/// Each row's loss and, when `keep`, its softmax (for the gradient). The loss is computed as
/// `log_softmax` computes it, `(x − m) − ln Σ e^(x − m)` with `m` the row's maximum (0 when it
/// is not finite); the softmax is `e^(x − m) / Σ`, from the same exponentials.
fn rows_forward<T: FloatElement>(
    x: &[T],
    classes: usize,
    labels: &[usize],
    keep: bool,
) -> (Vec<T>, Option<Vec<T>>) {
    let mut p = keep.then(|| Vec::with_capacity(x.len()));
    let mut e = Vec::with_capacity(classes);
    let losses = x
        .chunks_exact(classes)
        .zip(labels)
        .map(|(row, &label)| {
            let m = row.iter().copied().fold(T::neg_infinity(), T::max);
            let m = if m.is_finite() { m } else { T::zero() };
            e.clear();
            e.extend(row.iter().map(|&v| (v - m).exp()));
            let sum = e.iter().copied().sum::<T>();
            if let Some(p) = p.as_mut() {
                let inv = T::one() / sum;
                p.extend(e.iter().map(|&v| v * inv));
            }
            -((row[label] - m) - sum.ln())
        })
        .collect();
    (losses, p)
}

/// `(p − onehot(label)) · g` for every row.
fn rows_backward<T: FloatElement>(p: &[T], g: &[T], classes: usize, labels: &[usize]) -> Vec<T> {
    let mut dx = Vec::with_capacity(p.len());
    for ((row, &g), &label) in p.chunks_exact(classes).zip(g).zip(labels) {
        dx.extend(row.iter().map(|&p| p * g));
        let at = dx.len() - classes + label;
        dx[at] = (row[label] - T::one()) * g;
    }
    dx
}
