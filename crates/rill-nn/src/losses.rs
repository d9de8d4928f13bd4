//! Losses, with Keras' definitions and its default reduction (the mean over the batch).

use crate::metrics::AccuracyKind;
use crate::{Error, Result};
use rill_core::{DType, Tensor};

/// Keras' `epsilon()`: probabilities are clipped to [ε, 1 − ε] before a log.
pub const EPSILON: f64 = 1e-7;

/// A training objective: the mean over the batch of a per-sample loss.
pub trait Loss: Send + Sync {
    /// The Keras name, e.g. `sparse_categorical_crossentropy`.
    fn name(&self) -> &'static str;
    /// The scalar loss for a batch.
    fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;
    /// Checks targets against the model's per-sample output shape before any work, so that a
    /// wrong label gives a clear error instead of garbage.
    fn check_targets(&self, y_true: &Tensor, output_shape: &[usize]) -> Result<()>;
    /// Which accuracy `metrics=["accuracy"]` means with this loss (as Keras chooses it).
    fn accuracy_kind(&self) -> AccuracyKind;
    /// The loss's name and arguments, for saving a compiled model.
    fn config(&self) -> serde_json::Value;
}

/// Rebuilds a loss from [`Loss::config`]: a built-in one or one registered with
/// [`register_loss`](crate::saveable::register_loss).
pub fn from_config(c: &serde_json::Value) -> Result<Box<dyn Loss>> {
    let mut fields = c.as_object().cloned().unwrap_or_default();
    let name = match fields.remove("name") {
        Some(serde_json::Value::String(name)) => name,
        _ => return Err(Error::Config(format!("a loss config names its loss: {c}"))),
    };
    crate::saveable::new_loss(&name, &serde_json::Value::Object(fields))
}

/// Keras' `squeeze_or_expand_to_same_rank`: targets `[N]` against predictions `[N, 1]` (or the
/// other way round) lose the trailing 1 rather than broadcast to `[N, N]`. Any other mismatch
/// is an error, never a silent broadcast.
pub fn same_rank(name: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Tensor)> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    let (t, p) = if p.len() == t.len() + 1 && p.last() == Some(&1) {
        (y_true.clone(), y_pred.squeeze(-1)?)
    } else if t.len() == p.len() + 1 && t.last() == Some(&1) {
        (y_true.squeeze(-1)?, y_pred.clone())
    } else {
        (y_true.clone(), y_pred.clone())
    };
    if t.shape() != p.shape() {
        return Err(Error::Input(format!(
            "{name}: targets of shape {:?} do not match predictions of shape {:?}",
            y_true.shape(),
            y_pred.shape()
        )));
    }
    Ok((t, p))
}

fn probabilities_log(p: &Tensor) -> Result<Tensor> {
    let p = p.div(&p.sum(&[-1], true)?)?;
    Ok(p.clip(EPSILON, 1.0 - EPSILON)?.log()?)
}

/// Labels as an integer column `[N, 1]`, whatever their dtype and whether they are `[N]` or `[N, 1]`.
fn label_column(y: &Tensor) -> Result<Tensor> {
    let y = if y.rank() == 2 && y.shape()[1] == 1 {
        y.reshape(&[y.shape()[0]])?
    } else {
        y.clone()
    };
    Ok(y.to_dtype(DType::I64)?.unsqueeze(1)?)
}

/// Cross-entropy with integer class labels (`y_true` of shape `[N]`).
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SparseCategoricalCrossentropy {
    /// Whether predictions are logits (true) or probabilities (false).
    pub from_logits: bool,
}

impl SparseCategoricalCrossentropy {
    /// The loss for models whose last layer has no softmax (the tutorial's).
    pub fn from_logits() -> Self {
        SparseCategoricalCrossentropy { from_logits: true }
    }
}

// Saved as Keras' `sparse_categorical_crossentropy` with its arguments.
crate::saveable::saveable_as_data!(
    SparseCategoricalCrossentropy,
    "sparse_categorical_crossentropy"
);

impl Loss for SparseCategoricalCrossentropy {
    crate::saveable_loss!();
    fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        if self.from_logits && y_pred.rank() == 2 {
            let labels = label_column(y_true)?.reshape(&[y_pred.shape()[0]])?;
            return Ok(y_pred
                .sparse_softmax_cross_entropy(&labels)?
                .mean(&[], false)?);
        }
        let logp = if self.from_logits {
            y_pred.log_softmax(-1)?
        } else {
            probabilities_log(y_pred)?
        };
        Ok(logp
            .gather(-1, &label_column(y_true)?)?
            .mean(&[], false)?
            .neg()?)
    }
    fn check_targets(&self, y: &Tensor, output_shape: &[usize]) -> Result<()> {
        let classes = *output_shape.last().unwrap_or(&0);
        if !(y.rank() == 1 || (y.rank() == 2 && y.shape()[1] == 1)) {
            return Err(Error::Input(format!(
                "{}: expected integer labels of shape (N,) or (N, 1), found {:?}; one-hot targets need categorical_crossentropy",
                self.name(),
                y.shape()
            )));
        }
        let labels = y.to_f64_vec();
        if let Some((i, &bad)) = labels
            .iter()
            .enumerate()
            .find(|(_, &v)| v < 0.0 || v >= classes as f64 || v.fract() != 0.0)
        {
            return Err(Error::Input(format!(
                "{}: label {bad} at index {i} is outside the model's {classes} classes (expected an integer in 0..{classes})",
                self.name()
            )));
        }
        Ok(())
    }
    fn accuracy_kind(&self) -> AccuracyKind {
        AccuracyKind::SparseCategorical
    }
}

/// Cross-entropy with one-hot (or soft) targets of the prediction's shape.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CategoricalCrossentropy {
    /// Whether predictions are logits.
    pub from_logits: bool,
    /// Moves targets towards uniform: y · (1 − s) + s / classes.
    pub label_smoothing: f64,
}

// Saved as Keras' `categorical_crossentropy` with its arguments.
crate::saveable::saveable_as_data!(CategoricalCrossentropy, "categorical_crossentropy");

impl Loss for CategoricalCrossentropy {
    crate::saveable_loss!();
    fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (y_true, y_pred) = &same_rank(self.name(), y_true, y_pred)?;
        let classes = *y_pred.shape().last().unwrap_or(&1) as f64;
        let mut y = y_true.to_dtype(y_pred.dtype())?;
        if self.label_smoothing > 0.0 {
            y = y
                .mul_scalar(1.0 - self.label_smoothing)?
                .add_scalar(self.label_smoothing / classes)?;
        }
        let logp = if self.from_logits {
            y_pred.log_softmax(-1)?
        } else {
            probabilities_log(y_pred)?
        };
        Ok(y.mul(&logp)?.sum(&[-1], false)?.mean(&[], false)?.neg()?)
    }
    fn check_targets(&self, y: &Tensor, output_shape: &[usize]) -> Result<()> {
        same_shape_targets(self.name(), y, output_shape)
    }
    fn accuracy_kind(&self) -> AccuracyKind {
        AccuracyKind::Categorical
    }
}

/// Binary cross-entropy for targets in [0, 1] of the prediction's shape.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BinaryCrossentropy {
    /// Whether predictions are logits.
    pub from_logits: bool,
    /// Moves targets towards 0.5: y · (1 − s) + s / 2.
    pub label_smoothing: f64,
}

// Saved as Keras' `binary_crossentropy` with its arguments.
crate::saveable::saveable_as_data!(BinaryCrossentropy, "binary_crossentropy");

impl Loss for BinaryCrossentropy {
    crate::saveable_loss!();
    fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (y_true, y_pred) = &same_rank(self.name(), y_true, y_pred)?;
        let mut y = y_true.to_dtype(y_pred.dtype())?;
        if self.label_smoothing > 0.0 {
            y = y
                .mul_scalar(1.0 - self.label_smoothing)?
                .add_scalar(0.5 * self.label_smoothing)?;
        }
        let per_element = if self.from_logits {
            // max(x, 0) − x·y + ln(1 + e^−|x|): never overflows.
            let x = y_pred;
            x.relu()?
                .sub(&x.mul(&y)?)?
                .add(&x.abs()?.neg()?.softplus()?)?
        } else {
            let p = y_pred.clip(EPSILON, 1.0 - EPSILON)?;
            let one_minus = |t: &Tensor| t.neg()?.add_scalar(1.0);
            y.mul(&p.log()?)?
                .add(&one_minus(&y)?.mul(&one_minus(&p)?.log()?)?)?
                .neg()?
        };
        Ok(per_element.mean(&[-1], false)?.mean(&[], false)?)
    }
    fn check_targets(&self, y: &Tensor, output_shape: &[usize]) -> Result<()> {
        same_shape_targets(self.name(), y, output_shape)
    }
    fn accuracy_kind(&self) -> AccuracyKind {
        AccuracyKind::Binary
    }
}

/// Targets of the output's shape, or of it without (or with an extra) trailing 1, which the loss
/// squeezes as Keras does.
fn same_shape_targets(name: &str, y: &Tensor, output_shape: &[usize]) -> Result<()> {
    let sample = y.shape().get(1..).unwrap_or(&[]);
    let fits = y.rank() > 0
        && (sample == output_shape
            || (output_shape.last() == Some(&1)
                && sample == &output_shape[..output_shape.len() - 1])
            || (sample.last() == Some(&1) && &sample[..sample.len() - 1] == output_shape));
    if !fits {
        return Err(Error::Input(format!(
            "{name}: targets must have the model's output shape {}, found {:?}",
            crate::error::batch_shape(output_shape),
            y.shape()
        )));
    }
    Ok(())
}

macro_rules! regression_loss {
    ($(#[$doc:meta])* $ty:ident, $name:literal, |$d:ident, $s:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $ty {
            /// The Huber threshold (ignored by the other regression losses).
            pub delta: f64,
        }
        impl Default for $ty {
            fn default() -> Self {
                $ty { delta: 1.0 }
            }
        }
        crate::saveable::saveable_as_data!($ty, $name);
        impl Loss for $ty {
            crate::saveable_loss!();
            fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
                let (y_true, y_pred) = same_rank($name, y_true, y_pred)?;
                let $d = y_pred.sub(&y_true.to_dtype(y_pred.dtype())?)?;
                let $s = self;
                let per_element: Tensor = $body;
                Ok(per_element.mean(&[-1], false)?.mean(&[], false)?)
            }
            fn check_targets(&self, y: &Tensor, output_shape: &[usize]) -> Result<()> {
                same_shape_targets(self.name(), y, output_shape)
            }
            fn accuracy_kind(&self) -> AccuracyKind {
                AccuracyKind::Binary
            }
        }
    };
}

regression_loss!(
    /// mean((y − ŷ)²)
    MeanSquaredError, "mean_squared_error", |d, _s| d.square()?
);
regression_loss!(
    /// mean(|y − ŷ|)
    MeanAbsoluteError, "mean_absolute_error", |d, _s| d.abs()?
);
regression_loss!(
    /// ½d² where |d| ≤ δ, δ(|d| − ½δ) beyond: quadratic near zero, linear for outliers.
    Huber, "huber", |d, s| {
        let a = d.abs()?;
        let small = a.le(&Tensor::scalar_of(s.delta, a.dtype()))?;
        let quadratic = d.square()?.mul_scalar(0.5)?;
        let linear = a.sub_scalar(0.5 * s.delta)?.mul_scalar(s.delta)?;
        quadratic.where_cond_of(&small, &linear)?
    }
);
