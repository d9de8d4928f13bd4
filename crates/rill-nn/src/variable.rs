//! [`Variable`]: a named, shared, mutable slot holding one weight or piece of layer state.
//!
//! A layer owns handles to its variables and reads them in `call(&self, …)`; the optimizer,
//! BatchNormalization's moving averages and Dropout's random stream write them through the same
//! handles. The value sits behind a lock, so one built model is called from many threads at
//! once: a read takes a cheap clone of the current tensor (shared storage), a write swaps or
//! updates it in place.

use rill_core::Tensor;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A variable's identity: stable for its whole life, never reused. Optimizer state is keyed by
/// it, so freezing, adding or reordering layers cannot hand one weight another's moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariableId(u64);

impl VariableId {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        VariableId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// What a variable is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableRole {
    /// A weight the optimizer trains (unless its layer is frozen).
    Weight,
    /// A weight its layer updates itself (BatchNormalization's moving statistics).
    NonTrainable,
    /// Bookkeeping rather than a weight (a layer's random-number state): saved with the model
    /// and restored with it, but not a parameter — not counted, not in `get_weights`.
    State,
}

struct Inner {
    id: VariableId,
    name: String,
    role: VariableRole,
    /// Set by `Layer::set_trainable(false)`: the optimizer leaves the weight alone.
    frozen: AtomicBool,
    value: RwLock<Tensor>,
}

/// A named weight of a layer, shared by every clone of the handle (clones are cheap and refer to
/// the same variable, as a Keras variable does).
#[derive(Clone)]
pub struct Variable(Arc<Inner>);

impl Variable {
    fn with_role(name: &str, value: Tensor, role: VariableRole) -> Self {
        Variable(Arc::new(Inner {
            id: VariableId::new(),
            name: name.to_string(),
            role,
            frozen: AtomicBool::new(false),
            value: RwLock::new(value),
        }))
    }
    /// A trainable variable (float values only).
    pub fn trainable(name: &str, value: Tensor) -> rill_core::Result<Self> {
        Ok(Self::with_role(
            name,
            value.set_requires_grad(true)?,
            VariableRole::Weight,
        ))
    }
    /// A non-trainable variable (state a layer updates itself).
    pub fn fixed(name: &str, value: Tensor) -> Self {
        Self::with_role(name, value, VariableRole::NonTrainable)
    }
    /// Layer state that is saved but is not a parameter (see [`VariableRole::State`]).
    pub fn state(name: &str, value: Tensor) -> Self {
        Self::with_role(name, value, VariableRole::State)
    }

    /// Its identity.
    pub fn id(&self) -> VariableId {
        self.0.id
    }
    /// The variable's name within its layer, e.g. `kernel`.
    pub fn name(&self) -> &str {
        &self.0.name
    }
    /// What the variable is for.
    pub fn role(&self) -> VariableRole {
        self.0.role
    }
    /// Whether the optimizer trains it now: a weight whose layer is not frozen.
    pub fn is_trainable(&self) -> bool {
        self.0.role == VariableRole::Weight && !self.0.frozen.load(Ordering::Relaxed)
    }
    /// Whether it is bookkeeping rather than a parameter.
    pub fn is_state(&self) -> bool {
        self.0.role == VariableRole::State
    }
    /// Freezes (`false`) or unfreezes a weight; other roles are never trained and ignore this.
    pub fn set_trainable(&self, on: bool) {
        self.0.frozen.store(!on, Ordering::Relaxed);
    }

    fn read(&self) -> RwLockReadGuard<'_, Tensor> {
        // A panic while holding the lock cannot leave a half-written tensor: writers replace or
        // update the value in one step, so a poisoned lock still guards a whole value.
        self.0.value.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> RwLockWriteGuard<'_, Tensor> {
        self.0.value.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current value (a cheap handle sharing its storage; gradients reach the variable
    /// through it).
    pub fn value(&self) -> Tensor {
        self.read().clone()
    }
    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.read().shape().to_vec()
    }
    /// The number of scalars it holds.
    pub fn numel(&self) -> usize {
        self.read().numel()
    }
    /// Replaces the value (same shape and dtype), keeping identity and trainability.
    pub fn assign(&self, value: &Tensor) -> rill_core::Result<()> {
        self.write().assign(value)
    }
    /// Replaces the value with one of any shape (a layer's own state, e.g. moving averages
    /// computed by ops). The caller keeps shape and dtype consistent.
    pub(crate) fn replace(&self, value: Tensor) {
        *self.write() = value;
    }
    /// Mutates the elements in place (optimizer steps). In place only while no computation
    /// still holds the old value; otherwise the value is copied first and that holder keeps
    /// what it read.
    pub fn update<T: rill_core::Element>(&self, f: impl FnOnce(&mut [T])) -> rill_core::Result<()> {
        self.write().update(f)
    }
}

impl std::fmt::Debug for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.read();
        f.debug_struct("Variable")
            .field("name", &self.0.name)
            .field("role", &self.0.role)
            .field("trainable", &self.is_trainable())
            .field("shape", &v.shape())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_value_and_identity() -> rill_core::Result<()> {
        let v = Variable::trainable("w", Tensor::zeros(&[2], rill_core::DType::F32))?;
        let w = v.clone();
        w.update::<f32>(|x| x[0] = 3.0)?;
        assert_eq!(v.value().to_vec::<f32>()?, vec![3.0, 0.0]);
        assert_eq!(v.id(), w.id());
        w.set_trainable(false);
        assert!(!v.is_trainable());
        Ok(())
    }

    #[test]
    fn frozen_flag_never_makes_state_trainable() {
        let s = Variable::fixed("moving_mean", Tensor::zeros(&[2], rill_core::DType::F32));
        s.set_trainable(true);
        assert!(!s.is_trainable());
    }
}
