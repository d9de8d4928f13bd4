use super::stages;
use crate::{Error, Result};
use rill_core::batches::BatchResult;
use rill_core::{Batch, Batches, Data, Feed, Generator, Tensor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One item of a dataset: parallel tensors, usually `[features, label]`.
pub type Element = Vec<Tensor>;

/// A stream of elements for one pass.
pub(crate) type Stream = Box<dyn Iterator<Item = Result<Element>> + Send>;

type MakeStream = dyn Fn(u64) -> Stream + Send + Sync;

/// A recipe for a stream of elements. Each pass ([`Dataset::iter`]) runs the recipe afresh
/// with a new epoch number, so `shuffle` reshuffles every epoch, reproducibly from its seed.
///
/// ```
/// use rill_core::{DType, Tensor};
/// use rill_data::Dataset;
/// let x = Tensor::arange(0.0, 10.0, 1.0, DType::F32)?.reshape(&[10, 1])?;
/// let y = Tensor::arange(0.0, 10.0, 1.0, DType::I64)?;
/// let ds = Dataset::from_tensor_slices(vec![x, y])?.shuffle(10, 42).batch(4, false);
/// let batches: Vec<_> = ds.iter().collect::<Result<_, _>>()?;
/// assert_eq!(batches.len(), 3);
/// assert_eq!(batches[0][0].shape(), &[4, 1]);
/// # Ok::<(), rill_data::Error>(())
/// ```
#[derive(Clone)]
pub struct Dataset {
    make: Arc<MakeStream>,
    len: Option<usize>,
    epoch: Arc<AtomicU64>,
    /// How an element splits into a model's inputs and targets (`None`: `[x, y]`).
    structure: Option<Arc<(Group, Group)>>,
}

/// The shape of one side (inputs or targets) of a structured element.
#[derive(Debug, Clone)]
enum Group {
    One,
    List(usize),
    Named(Vec<String>),
}

impl Group {
    fn of(d: &Data) -> Group {
        match d {
            Data::One(_) => Group::One,
            Data::List(ts) => Group::List(ts.len()),
            Data::Named(ts) => Group::Named(ts.iter().map(|(n, _)| n.clone()).collect()),
        }
    }
    fn len(&self) -> usize {
        match self {
            Group::One => 1,
            Group::List(n) => *n,
            Group::Named(names) => names.len(),
        }
    }
    /// Takes this group's tensors off the front of `rest`.
    fn take(&self, rest: &mut std::vec::IntoIter<Tensor>) -> Data {
        match self {
            Group::One => Data::One(rest.next().expect("length checked")),
            Group::List(n) => Data::List(rest.take(*n).collect()),
            Group::Named(names) => Data::Named(
                names
                    .iter()
                    .map(|n| (n.clone(), rest.next().expect("length checked")))
                    .collect(),
            ),
        }
    }
}

impl Dataset {
    pub(crate) fn new(
        len: Option<usize>,
        make: impl Fn(u64) -> Stream + Send + Sync + 'static,
    ) -> Self {
        Dataset {
            make: Arc::new(make),
            len,
            epoch: Arc::new(AtomicU64::new(0)),
            structure: None,
        }
    }

    /// Element i holds the i-th sample of every input and every target, for models with
    /// several inputs or outputs: `x` and `y` are each a tensor, a list (model order) or
    /// tensors by name, and `fit` receives batches in that same structure.
    pub fn from_structured(x: impl Into<Data>, y: impl Into<Data>) -> Result<Dataset> {
        let (x, y) = (x.into(), y.into());
        let flat: Vec<Tensor> = x
            .tensors()
            .into_iter()
            .chain(y.tensors())
            .cloned()
            .collect();
        let mut ds = Dataset::from_tensor_slices(flat)?;
        ds.structure = Some(Arc::new((Group::of(&x), Group::of(&y))));
        Ok(ds)
    }

    /// Element i is the i-th slice along axis 0 of every tensor (`from_tensor_slices`).
    pub fn from_tensor_slices(tensors: Vec<Tensor>) -> Result<Dataset> {
        let n = tensors
            .first()
            .map(|t| t.shape().first().copied().unwrap_or(0))
            .ok_or_else(|| {
                Error::Pipeline("from_tensor_slices: needs at least one tensor".into())
            })?;
        if let Some(t) = tensors.iter().find(|t| t.rank() == 0 || t.shape()[0] != n) {
            return Err(Error::Pipeline(format!(
                "from_tensor_slices: every tensor needs {n} rows, found shape {:?}",
                t.shape()
            )));
        }
        let tensors = Arc::new(tensors);
        Ok(Dataset::new(Some(n), move |_| {
            let tensors = tensors.clone();
            Box::new((0..n).map(move |i| {
                tensors
                    .iter()
                    .map(|t| Ok(t.slice(0, i, i + 1)?.squeeze(0)?))
                    .collect()
            }))
        }))
    }

    /// The number of elements per pass, when known.
    pub fn len(&self) -> Option<usize> {
        self.len
    }

    /// Whether a pass is known to yield nothing.
    pub fn is_empty(&self) -> bool {
        self.len == Some(0)
    }

    /// One pass over the elements (the next epoch).
    pub fn iter(&self) -> impl Iterator<Item = Result<Element>> + Send {
        let epoch = self.epoch.fetch_add(1, Ordering::Relaxed);
        (self.make)(epoch)
    }

    /// One pass for an explicit epoch number (reproducible shuffles).
    pub fn iter_epoch(&self, epoch: u64) -> impl Iterator<Item = Result<Element>> + Send {
        (self.make)(epoch)
    }

    fn derive(
        &self,
        len: Option<usize>,
        wrap: impl Fn(Stream, u64) -> Stream + Send + Sync + 'static,
    ) -> Dataset {
        let inner = self.make.clone();
        Dataset {
            structure: self.structure.clone(),
            ..Dataset::new(len, move |epoch| wrap(inner(epoch), epoch))
        }
    }

    /// Shuffles through a buffer of `buffer_size` elements (a buffer at least the dataset's size
    /// gives a uniform shuffle), reshuffling each epoch from `seed`.
    pub fn shuffle(&self, buffer_size: usize, seed: u64) -> Dataset {
        self.derive(self.len, move |s, epoch| {
            stages::shuffle(
                s,
                buffer_size.max(1),
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch,
            )
        })
    }

    /// Groups consecutive elements into batches stacked along a new axis 0; the last, smaller
    /// batch is dropped when `drop_remainder`.
    pub fn batch(&self, batch_size: usize, drop_remainder: bool) -> Dataset {
        let n = batch_size.max(1);
        let len = self
            .len
            .map(|l| if drop_remainder { l / n } else { l.div_ceil(n) });
        self.derive(len, move |s, _| stages::batch(s, n, drop_remainder))
    }

    /// Applies `f` to every element, on all cores, keeping the order.
    pub fn map(&self, f: impl Fn(Element) -> Result<Element> + Send + Sync + 'static) -> Dataset {
        let f = Arc::new(f);
        self.derive(self.len, move |s, _| {
            let f = f.clone();
            stages::parallel_map(s, Arc::new(move |_, e| f(e)))
        })
    }

    /// Like [`Dataset::map`], for random transformations such as augmentation: `f` also gets a
    /// generator determined by `seed`, the epoch and the element's index
    /// ([`Generator::stateless`]), so a run is reproducible however the work is spread over
    /// the cores, and each epoch draws afresh.
    ///
    /// ```
    /// use rill_core::{DType, Tensor};
    /// use rill_data::{augment, Dataset};
    /// let images = Tensor::ones(&[8, 28, 28], DType::F32); // H×W images need no channel axis
    /// let labels = Tensor::zeros(&[8], DType::I64);
    /// let ds = Dataset::from_tensor_slices(vec![images, labels])?.map_random(7, |mut e, rng| {
    ///     e[0] = augment::random_flip_left_right(&e[0], rng)?;
    ///     e[0] = augment::random_crop_with_padding(&e[0], 2, rng)?;
    ///     Ok(e)
    /// });
    /// let a: Vec<_> = ds.iter_epoch(0).collect::<Result<_, _>>()?;
    /// let b: Vec<_> = ds.iter_epoch(0).collect::<Result<_, _>>()?;
    /// assert!(a.iter().zip(&b).all(|(x, y)| x[0].to_vec::<f32>().ok() == y[0].to_vec::<f32>().ok()));
    /// # Ok::<(), rill_data::Error>(())
    /// ```
    pub fn map_random(
        &self,
        seed: u64,
        f: impl Fn(Element, &mut Generator) -> Result<Element> + Send + Sync + 'static,
    ) -> Dataset {
        let f = Arc::new(f);
        self.derive(self.len, move |s, epoch| {
            let f = f.clone();
            stages::parallel_map(
                s,
                Arc::new(move |i, e| f(e, &mut Generator::stateless(seed, epoch, i))),
            )
        })
    }

    /// Produces up to `buffer` elements ahead on a background thread.
    pub fn prefetch(&self, buffer: usize) -> Dataset {
        self.derive(self.len, move |s, _| stages::prefetch(s, buffer.max(1)))
    }

    /// Keeps the elements of the first complete pass in memory and replays them afterwards.
    pub fn cache(&self) -> Dataset {
        let store: Arc<std::sync::Mutex<Option<Arc<Vec<Element>>>>> = Arc::default();
        self.derive(self.len, move |s, _| stages::cache(s, store.clone()))
    }

    /// The first `n` elements.
    pub fn take(&self, n: usize) -> Dataset {
        self.derive(self.len.map(|l| l.min(n)), move |s, _| Box::new(s.take(n)))
    }

    /// All but the first `n` elements.
    pub fn skip(&self, n: usize) -> Dataset {
        self.derive(self.len.map(|l| l.saturating_sub(n)), move |s, _| {
            Box::new(s.skip(n))
        })
    }

    /// The dataset `count` times over (`None`: forever), each repetition a new epoch.
    pub fn repeat(&self, count: Option<usize>) -> Dataset {
        let inner = self.make.clone();
        let len = match (self.len, count) {
            (Some(l), Some(c)) => Some(l * c),
            (Some(0), None) => Some(0),
            _ => None,
        };
        let structure = self.structure.clone();
        let mut ds = Dataset::new(len, move |epoch| {
            let inner = inner.clone();
            let reps = count.map(|c| c as u64).unwrap_or(u64::MAX);
            Box::new(
                (0..reps).flat_map(move |r| inner(epoch.wrapping_mul(1_000_003).wrapping_add(r))),
            )
        });
        ds.structure = structure;
        ds
    }
}

impl Dataset {
    /// An element as a batch: by the recorded structure (targets absent when the element holds
    /// the inputs alone), else `[x, y]`, or `[x]` for inputs alone.
    fn split(&self, e: Element) -> Result<Batch> {
        match self.structure.as_deref() {
            Some((x, _)) if e.len() == x.len() => Ok(Batch::inputs(x.take(&mut e.into_iter()))),
            Some((x, y)) => {
                if e.len() != x.len() + y.len() {
                    return Err(Error::Pipeline(format!(
                        "a structured dataset's elements hold {} tensors, found {} (did a map change them?)",
                        x.len() + y.len(),
                        e.len()
                    )));
                }
                let mut rest = e.into_iter();
                Ok(Batch::new(x.take(&mut rest), y.take(&mut rest)))
            }
            None if e.len() == 2 => {
                let mut e = e;
                let y = e.pop().expect("two");
                let x = e.pop().expect("two");
                Ok(Batch::new(x, y))
            }
            None if e.len() == 1 => Ok(Batch::inputs(e.into_iter().next().expect("one"))),
            None => Err(Error::Pipeline(format!(
                "a dataset yields (features, labels) pairs or features alone, found elements of {} tensors; use Dataset::from_structured for several inputs or outputs",
                e.len()
            ))),
        }
    }
}

impl Batches for Dataset {
    fn batches(&self, epoch: usize) -> Box<dyn Iterator<Item = BatchResult<Batch>> + Send + '_> {
        Box::new(self.iter_epoch(epoch as u64).map(|e| Ok(self.split(e?)?)))
    }
    fn steps(&self) -> Option<usize> {
        self.len
    }
}

/// `model.fit(&dataset, …)`, `model.evaluate(&dataset, …)`, `model.predict(&dataset, …)`.
impl<'a> From<&'a Dataset> for Feed<'a> {
    fn from(ds: &'a Dataset) -> Self {
        Feed::Batches(ds)
    }
}
