//! What `fit`, `evaluate` and `predict` consume — one vocabulary, defined here so that data
//! pipelines (`rill-data`) and models (`rill-nn`) both depend on it without depending on each
//! other:
//!
//! - [`Data`]: one tensor, a list of tensors (a model's inputs or outputs in order), or tensors
//!   by name — Keras' "nested structures", one level deep;
//! - [`Batch`]: inputs, and targets where the source has them;
//! - [`Batches`]: a source of batches, epoch by epoch (a `rill-data` `Dataset` is one);
//! - [`Feed`]: what the three methods take — whole tensors (`(x, y)` or `x`) or a source.

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

/// One batch: the inputs, and the targets where the source has them (`predict` reads the
/// inputs alone; `fit` and `evaluate` need both).
#[derive(Debug, Clone)]
pub struct Batch {
    /// The model's inputs.
    pub x: Data,
    /// The targets, if any.
    pub y: Option<Data>,
}

impl Batch {
    /// A batch of inputs and targets.
    pub fn new(x: impl Into<Data>, y: impl Into<Data>) -> Self {
        Batch {
            x: x.into(),
            y: Some(y.into()),
        }
    }
    /// A batch of inputs alone.
    pub fn inputs(x: impl Into<Data>) -> Self {
        Batch {
            x: x.into(),
            y: None,
        }
    }
}

/// A source of batches that `fit`, `evaluate` and `predict` run over, e.g. a `rill-data`
/// `Dataset` (pass it as [`Feed::batches`], or `&dataset`).
pub trait Batches: Sync {
    /// The batches of one epoch (a source may reshuffle, or draw new augmentations, per epoch).
    fn batches(&self, epoch: usize) -> Box<dyn Iterator<Item = BatchResult<Batch>> + Send + '_>;
    /// Batches per epoch, when known (for the progress bar).
    fn steps(&self) -> Option<usize>;
}

/// What `fit`, `evaluate` and `predict` run over: whole tensors — `(x, y)`, or `x` alone for
/// `predict` — cut into batches by the model, or a source of batches.
pub enum Feed<'a> {
    /// Whole tensors: inputs, and targets where given.
    Tensors {
        /// The inputs.
        x: Data,
        /// The targets, if given.
        y: Option<Data>,
    },
    /// A source of batches, e.g. a `Dataset`.
    Batches(&'a dyn Batches),
}

impl<'a> Feed<'a> {
    /// A source of batches (a `Dataset` converts by itself: `&dataset`).
    pub fn batches(source: &'a dyn Batches) -> Self {
        Feed::Batches(source)
    }
}

impl<'a, X: Into<Data>, Y: Into<Data>> From<(X, Y)> for Feed<'a> {
    fn from((x, y): (X, Y)) -> Self {
        Feed::Tensors {
            x: x.into(),
            y: Some(y.into()),
        }
    }
}

/// Inputs alone, for `predict`, from every form [`Data`] takes. (Written per form: a blanket
/// `X: Into<Data>` would overlap the `(x, y)` pair in the compiler's eyes.)
macro_rules! inputs_alone {
    ($([$($generics:tt)*] $t:ty),* $(,)?) => {
        $(
            impl<'a, $($generics)*> From<$t> for Feed<'a> {
                fn from(x: $t) -> Self {
                    Feed::Tensors { x: x.into(), y: None }
                }
            }
        )*
    };
}

inputs_alone!(
    [] Data,
    [] Tensor,
    [] &Tensor,
    [] Vec<Tensor>,
    [] &[Tensor],
    [const N: usize] [Tensor; N],
    [const N: usize] [&Tensor; N],
    [S: Into<String>] Vec<(S, Tensor)>,
    [const N: usize] [(&str, &Tensor); N],
    [] std::collections::HashMap<String, Tensor>,
    [] std::collections::BTreeMap<String, Tensor>,
);
