//! [`Tensor`]: an n-dimensional array with a runtime shape and dtype, cheap to clone.

use crate::autograd::{self, GradNode};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result, ShapeDisplay};
use crate::layout::Layout;
use crate::storage::Storage;
use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A unique identity for a tensor value, used to key gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

#[derive(Clone)]
pub(crate) struct TensorImpl {
    pub(crate) id: TensorId,
    pub(crate) storage: Arc<Storage>,
    pub(crate) layout: Layout,
    /// How this tensor was computed, when that was recorded for autodiff.
    pub(crate) node: Option<Arc<GradNode>>,
    pub(crate) requires_grad: bool,
}

/// An n-dimensional array of one [`DType`], with reverse-mode autodiff.
///
/// Cloning is cheap: clones share the storage. Views (transpose, slice, broadcast, reshape of a
/// contiguous tensor) share it too; kernels copy into a contiguous buffer only when they must.
///
/// ```
/// use rill_core::Tensor;
/// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let b = a.matmul(&a.transpose(0, 1)?)?;
/// assert_eq!(b.to_vec::<f32>()?, vec![5.0, 11.0, 11.0, 25.0]);
/// # Ok::<(), rill_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    pub(crate) inner: Arc<TensorImpl>,
}

impl Tensor {
    /// A tensor over `storage` seen through `layout`, recording nothing.
    pub(crate) fn from_storage(storage: Arc<Storage>, layout: Layout) -> Tensor {
        Tensor {
            inner: Arc::new(TensorImpl {
                id: TensorId::new(),
                storage,
                layout,
                node: None,
                requires_grad: false,
            }),
        }
    }

    /// A contiguous tensor holding `storage` with `shape`; the length must match.
    pub(crate) fn from_parts(storage: Storage, shape: &[usize]) -> Tensor {
        debug_assert_eq!(storage.len(), shape.iter().product::<usize>());
        Tensor::from_storage(Arc::new(storage), Layout::contiguous(shape))
    }

    /// A tensor holding `data` with `shape` (row-major).
    ///
    /// ```
    /// let t = rill_core::Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// assert_eq!(t.shape(), &[3]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(Error::shape(
                "from_vec",
                format!(
                    "shape {} needs {n} elements, found {}",
                    ShapeDisplay(shape),
                    data.len()
                ),
            ));
        }
        Ok(Tensor::from_parts(T::into_storage(data), shape))
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::from_parts(T::into_storage(vec![value]), &[])
    }

    /// A rank-0 tensor of `dtype` holding `value` converted as by `as`.
    pub fn scalar_of(value: f64, dtype: DType) -> Tensor {
        crate::dispatch_any!(dtype, T => Tensor::scalar(T::from_f64(value)),
            string => Tensor::from_parts(Storage::Str(vec![crate::strings::number_text(value)]), &[]))
    }

    /// This tensor's identity (shared by clones; a new op result gets a new one).
    pub fn id(&self) -> TensorId {
        self.inner.id
    }
    /// The extent of each dimension.
    pub fn shape(&self) -> &[usize] {
        self.inner.layout.shape()
    }
    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.inner.layout.numel()
    }
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.inner.storage.dtype()
    }
    /// The layout over the storage.
    pub fn layout(&self) -> &Layout {
        &self.inner.layout
    }
    pub(crate) fn storage(&self) -> &Arc<Storage> {
        &self.inner.storage
    }
    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.inner.requires_grad
    }
    /// Whether this tensor is a leaf: made by the user rather than computed by a recorded op.
    pub fn is_leaf(&self) -> bool {
        self.inner.node.is_none()
    }

    /// Marks this tensor as a trainable variable: [`Tensor::backward`] will report its gradient.
    /// Only float tensors can be trainable.
    pub fn set_requires_grad(mut self, on: bool) -> Result<Tensor> {
        if on && !self.dtype().is_float() {
            return Err(Error::dtype(
                "requires_grad",
                format!("only float tensors can be trained, found {}", self.dtype()),
            ));
        }
        Arc::make_mut(&mut self.inner).requires_grad = on;
        Ok(self)
    }

    /// A tensor with the same value that is cut off from the graph (a stop-gradient).
    pub fn detach(&self) -> Tensor {
        Tensor::from_storage(self.inner.storage.clone(), self.inner.layout.clone())
    }

    /// The elements in row-major order, borrowed when the layout is contiguous.
    pub fn data<T: Element>(&self) -> Result<Cow<'_, [T]>> {
        let all = T::slice(&self.inner.storage).ok_or_else(|| {
            Error::dtype(
                "data",
                format!(
                    "asked for {} elements, the tensor holds {}",
                    T::DTYPE,
                    self.dtype()
                ),
            )
        })?;
        Ok(match self.inner.layout.contiguous_range() {
            Some(range) => Cow::Borrowed(&all[range]),
            None => Cow::Owned(crate::backend::cpu::gather_strided(all, &self.inner.layout)),
        })
    }

    /// The elements in row-major order as a new vector.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        Ok(self.data::<T>()?.into_owned())
    }

    /// The elements in row-major order, taking the buffer without a copy when this tensor is
    /// its only holder and covers all of it (a fresh op result, say), copying otherwise.
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let view = t.transpose(0, 1)?; // shares the buffer: copied out in its own order
    /// assert_eq!(view.into_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
    /// let fresh = t.mul_scalar(2.0)?;
    /// let at = fresh.data::<f32>()?.as_ptr();
    /// let v = fresh.into_vec::<f32>()?; // the sole holder: the same buffer, moved
    /// assert_eq!((v.as_ptr(), v), (at, vec![2.0, 4.0, 6.0, 8.0]));
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>> {
        let whole = {
            let l = &self.inner.layout;
            l.is_contiguous() && l.offset() == 0 && self.inner.storage.len() == l.numel()
        };
        if T::DTYPE == self.dtype() && whole {
            let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| (*shared).clone());
            return match Arc::try_unwrap(inner.storage) {
                Ok(storage) => Ok(T::from_storage(storage).expect("dtype checked above")),
                Err(shared) => Ok(T::slice(&shared).expect("dtype checked above").to_vec()),
            };
        }
        self.to_vec()
    }

    /// The single element of a one-element tensor.
    pub fn item<T: Element>(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                format!(
                    "expected a tensor with one element, found shape {}",
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        Ok(self.data::<T>()?[0])
    }

    /// The elements converted to f64, whatever the dtype (for printing, metrics and tests).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        crate::dispatch_any!(self.dtype(), T => self
            .data::<T>()
            .map(|d| d.iter().map(|&x| x.to_f64()).collect())
            .unwrap_or_default(),
            // Text that is not a number reads as NaN here; `to_dtype` reports it instead.
            string => self.strings().unwrap_or_default().iter().map(|s| s.trim().parse().unwrap_or(f64::NAN)).collect())
    }

    /// This tensor with a contiguous layout at offset 0 of a storage of exactly its size,
    /// copying only when it is not already so. Differentiable (the identity).
    pub fn contiguous(&self) -> Tensor {
        let l = &self.inner.layout;
        if l.is_contiguous() && l.offset() == 0 && self.inner.storage.len() == l.numel() {
            return self.clone();
        }
        let storage = crate::dispatch_any!(self.dtype(), T => {
            let all = T::slice(&self.inner.storage).expect("dtype matches storage");
            T::into_storage(crate::backend::cpu::gather_strided(all, l))
        }, string => Storage::Str(self.strings().unwrap_or_default()));
        self.derive_view_free(storage)
    }

    /// Wraps a contiguous copy of this tensor's values, passing gradients straight through.
    fn derive_view_free(&self, storage: Storage) -> Tensor {
        Tensor::record(storage, self.shape(), &[self], "contiguous", |ctx| {
            Ok(vec![Some(ctx.grad.clone())])
        })
    }

    /// Mutates the elements in place, e.g. for an optimizer step. Copies first only when the
    /// storage is shared with another live tensor (copy-on-write), so an update never changes a
    /// value someone else holds.
    pub fn update<T: Element>(&mut self, f: impl FnOnce(&mut [T])) -> Result<()> {
        if T::DTYPE != self.dtype() {
            return Err(Error::dtype(
                "update",
                format!(
                    "asked for {} elements, the tensor holds {}",
                    T::DTYPE,
                    self.dtype()
                ),
            ));
        }
        let l = &self.inner.layout;
        if !(l.is_contiguous() && l.offset() == 0 && self.inner.storage.len() == l.numel()) {
            let keep_grad = self.requires_grad();
            let c = self.detach().contiguous().detach();
            *self = c.set_requires_grad(keep_grad)?;
        }
        let inner = Arc::make_mut(&mut self.inner);
        let storage = Arc::make_mut(&mut inner.storage);
        f(T::slice_mut(storage).expect("dtype checked above"));
        Ok(())
    }

    /// Replaces the value with `value` (same shape and dtype), keeping identity and trainability.
    pub fn assign(&mut self, value: &Tensor) -> Result<()> {
        if value.shape() != self.shape() || value.dtype() != self.dtype() {
            return Err(Error::shape(
                "assign",
                format!(
                    "expected a {} tensor of shape {}, found {} {}",
                    self.dtype(),
                    ShapeDisplay(self.shape()),
                    value.dtype(),
                    ShapeDisplay(value.shape())
                ),
            ));
        }
        let v = value.contiguous();
        let inner = Arc::make_mut(&mut self.inner);
        inner.storage = v.inner.storage.clone();
        inner.layout = Layout::contiguous(v.shape());
        Ok(())
    }

    /// A new tensor computed by an op from `inputs`; records `backward` when gradients are on
    /// and some input needs one. `backward` gets the output's gradient and returns one per input.
    pub(crate) fn record(
        storage: Storage,
        shape: &[usize],
        inputs: &[&Tensor],
        op: &'static str,
        backward: impl Fn(&autograd::BackwardCtx) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        Tensor::record_view(
            Arc::new(storage),
            Layout::contiguous(shape),
            inputs,
            op,
            backward,
        )
    }

    /// Whether a float result computed from `inputs` gets a gradient node: gradients are on and
    /// some input requires one. Ops with a cheaper path for results nothing will differentiate
    /// (prediction) ask this first.
    pub(crate) fn records_from(inputs: &[&Tensor]) -> bool {
        autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
    }

    /// Like [`Tensor::record`] for a result that is a view of existing storage.
    pub(crate) fn record_view(
        storage: Arc<Storage>,
        layout: Layout,
        inputs: &[&Tensor],
        op: &'static str,
        backward: impl Fn(&autograd::BackwardCtx) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        crate::profile::forward_done(op);
        let track = storage.dtype().is_float() && Tensor::records_from(inputs);
        let node = track.then(|| {
            Arc::new(GradNode::new(
                op,
                inputs.iter().map(|&t| t.clone()).collect(),
                Box::new(backward),
            ))
        });
        Tensor {
            inner: Arc::new(TensorImpl {
                id: TensorId::new(),
                storage,
                layout,
                node,
                requires_grad: track,
            }),
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        let values = self.to_f64_vec();
        write!(
            f,
            "Tensor({} {}, [",
            self.dtype(),
            ShapeDisplay(self.shape())
        )?;
        for (i, v) in values.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{v}")?;
        }
        if values.len() > SHOWN {
            write!(f, ", ...")?;
        }
        write!(f, "])")
    }
}
