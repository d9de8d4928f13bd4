use rill_core::Tensor;

/// A named weight of a layer. Trainable variables receive gradients and optimizer updates;
/// non-trainable ones (BatchNormalization's moving statistics) are updated by their layer.
#[derive(Debug, Clone)]
pub struct Variable {
    /// The weight's name within its layer, e.g. `kernel`.
    pub name: String,
    /// The current value.
    pub value: Tensor,
    /// Whether the optimizer trains it.
    pub trainable: bool,
    /// Bookkeeping rather than a weight (a layer's random-number state): saved with the model
    /// and restored with it, but not a parameter — not counted, not in `get_weights`.
    pub is_state: bool,
}

impl Variable {
    /// A trainable variable.
    pub fn trainable(name: &str, value: Tensor) -> rill_core::Result<Self> {
        Ok(Variable {
            name: name.to_string(),
            value: value.set_requires_grad(true)?,
            trainable: true,
            is_state: false,
        })
    }
    /// A non-trainable variable (state a layer updates itself).
    pub fn fixed(name: &str, value: Tensor) -> Self {
        Variable {
            name: name.to_string(),
            value,
            trainable: false,
            is_state: false,
        }
    }
    /// Layer state that is saved but is not a parameter (see [`Variable::is_state`]).
    pub fn state(name: &str, value: Tensor) -> Self {
        Variable {
            name: name.to_string(),
            value,
            trainable: false,
            is_state: true,
        }
    }
    /// The number of scalars it holds.
    pub fn numel(&self) -> usize {
        self.value.numel()
    }
}
