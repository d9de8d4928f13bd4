//! What `fit`, `evaluate` and `predict` consume, defined here so that data pipelines
//! (`rill-data`) and models (`rill-nn`) both depend on it without depending on each other.
//!
//! A batch is [`Data`]: one tensor, a list of tensors (a model's inputs or outputs in order), or
//! tensors by name — Keras' "nested structures", one level deep.

use crate::Tensor;

/// An error from a source of batches (a file that failed to decode, an augmentation that failed).
pub type BatchError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`BatchError`].
pub type BatchResult<T> = std::result::Result<T, BatchError>;

/// One tensor, several in order, or several by name: a model's inputs or targets.
#[derive(Debug, Clone)]
pub enum Data {
    /// A single tensor (a model with one input or one output).
    One(Tensor),
    /// One tensor per input (or output), in the model's order.
    List(Vec<Tensor>),
    /// Tensors by input (or output) name.
    Named(Vec<(String, Tensor)>),
}

impl Data {
    /// The tensors, in their order (by position for `List`, as given for `Named`).
    pub fn tensors(&self) -> Vec<&Tensor> {
        match self {
            Data::One(t) => vec![t],
            Data::List(ts) => ts.iter().collect(),
            Data::Named(ts) => ts.iter().map(|(_, t)| t).collect(),
        }
    }
    /// Applies `f` to every tensor, keeping the structure.
    pub fn map<E>(&self, mut f: impl FnMut(&Tensor) -> Result<Tensor, E>) -> Result<Data, E> {
        Ok(match self {
            Data::One(t) => Data::One(f(t)?),
            Data::List(ts) => Data::List(ts.iter().map(f).collect::<Result<_, E>>()?),
            Data::Named(ts) => Data::Named(
                ts.iter()
                    .map(|(n, t)| Ok((n.clone(), f(t)?)))
                    .collect::<Result<_, E>>()?,
            ),
        })
    }
}

impl From<Tensor> for Data {
    fn from(t: Tensor) -> Self {
        Data::One(t)
    }
}
impl From<&Tensor> for Data {
    fn from(t: &Tensor) -> Self {
        Data::One(t.clone())
    }
}
impl From<Vec<Tensor>> for Data {
    fn from(ts: Vec<Tensor>) -> Self {
        Data::List(ts)
    }
}
impl From<&[Tensor]> for Data {
    fn from(ts: &[Tensor]) -> Self {
        Data::List(ts.to_vec())
    }
}
impl<const N: usize> From<[Tensor; N]> for Data {
    fn from(ts: [Tensor; N]) -> Self {
        Data::List(ts.to_vec())
    }
}
impl<const N: usize> From<[&Tensor; N]> for Data {
    fn from(ts: [&Tensor; N]) -> Self {
        Data::List(ts.iter().map(|&t| t.clone()).collect())
    }
}
impl<S: Into<String>> From<Vec<(S, Tensor)>> for Data {
    fn from(ts: Vec<(S, Tensor)>) -> Self {
        Data::Named(ts.into_iter().map(|(n, t)| (n.into(), t)).collect())
    }
}
impl<const N: usize> From<[(&str, &Tensor); N]> for Data {
    fn from(ts: [(&str, &Tensor); N]) -> Self {
        Data::Named(
            ts.iter()
                .map(|(n, t)| (n.to_string(), (*t).clone()))
                .collect(),
        )
    }
}
impl From<std::collections::HashMap<String, Tensor>> for Data {
    fn from(ts: std::collections::HashMap<String, Tensor>) -> Self {
        Data::Named(ts.into_iter().collect())
    }
}
impl From<std::collections::BTreeMap<String, Tensor>> for Data {
    fn from(ts: std::collections::BTreeMap<String, Tensor>) -> Self {
        Data::Named(ts.into_iter().collect())
    }
}

/// A source of `(inputs, targets)` batches that `fit` and `evaluate` run over, e.g. a
/// `rill-data` `Dataset`.
pub trait Batches: Sync {
    /// The batches of one epoch (a source may reshuffle, or draw new augmentations, per epoch).
    fn batches(
        &self,
        epoch: usize,
    ) -> Box<dyn Iterator<Item = BatchResult<(Data, Data)>> + Send + '_>;
    /// Batches per epoch, when known (for the progress bar).
    fn steps(&self) -> Option<usize>;
}

/// A source of input batches (no targets), for `predict`.
pub trait InputBatches: Sync {
    /// The input batches, in order.
    fn input_batches(&self) -> Box<dyn Iterator<Item = BatchResult<Data>> + Send + '_>;
}
