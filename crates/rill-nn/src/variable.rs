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
}

impl Variable {
    /// A trainable variable.
    pub fn trainable(name: &str, value: Tensor) -> rill_core::Result<Self> {
        Ok(Variable {
            name: name.to_string(),
            value: value.set_requires_grad(true)?,
            trainable: true,
        })
    }
    /// A non-trainable variable (state a layer updates itself).
    pub fn fixed(name: &str, value: Tensor) -> Self {
        Variable {
            name: name.to_string(),
            value,
            trainable: false,
        }
    }
    /// The number of scalars it holds.
    pub fn numel(&self) -> usize {
        self.value.numel()
    }
}
