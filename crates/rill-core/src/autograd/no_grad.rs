use std::cell::Cell;

thread_local! {
    static DISABLED_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Whether ops on this thread currently record gradients.
pub fn is_grad_enabled() -> bool {
    DISABLED_DEPTH.with(|d| d.get() == 0)
}

/// Turns gradient recording off on this thread until dropped (nesting is fine).
///
/// ```
/// use rill_core::{NoGradGuard, Tensor};
/// let w = Tensor::ones(&[2], rill_core::DType::F32).set_requires_grad(true)?;
/// let _off = NoGradGuard::new();
/// assert!(!w.relu()?.requires_grad());
/// # Ok::<(), rill_core::Error>(())
/// ```
pub struct NoGradGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl NoGradGuard {
    /// Disables recording until the guard is dropped.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        DISABLED_DEPTH.with(|d| d.set(d.get() + 1));
        NoGradGuard {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        DISABLED_DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Runs `f` with gradient recording off: for inference, which then records nothing.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = NoGradGuard::new();
    f()
}
