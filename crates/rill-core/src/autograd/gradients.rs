use crate::tensor::{Tensor, TensorId};
use std::collections::HashMap;

/// The gradients produced by [`Tensor::backward`], keyed by the trainable tensors.
#[derive(Default, Clone)]
pub struct Gradients {
    by_id: HashMap<TensorId, Tensor>,
}

impl Gradients {
    pub(crate) fn insert(&mut self, id: TensorId, grad: Tensor) {
        self.by_id.insert(id, grad);
    }
    /// Sets the gradient of `variable` (for gradients computed elsewhere, such as a custom
    /// training loop's, handed to an optimizer).
    pub fn set(&mut self, variable: &Tensor, grad: Tensor) {
        self.by_id.insert(variable.id(), grad);
    }
    /// The gradient of `variable`, or `None` if the result does not depend on it.
    pub fn get(&self, variable: &Tensor) -> Option<&Tensor> {
        self.by_id.get(&variable.id())
    }
    /// The gradient for a tensor identity.
    pub fn get_by_id(&self, id: TensorId) -> Option<&Tensor> {
        self.by_id.get(&id)
    }
    /// Takes the gradient of `variable` out of the set.
    pub fn remove(&mut self, variable: &Tensor) -> Option<Tensor> {
        self.by_id.remove(&variable.id())
    }
    /// The number of gradients held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    /// Whether no gradient is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
