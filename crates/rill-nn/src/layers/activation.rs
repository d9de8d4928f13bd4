use super::Layer;
use crate::{Activation, Error, Result};
use rill_core::Tensor;

macro_rules! activation_layer {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            name: String,
            activation: Activation,
        }
        impl Layer for $name {
            fn kind(&self) -> &'static str {
                $kind
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn set_name(&mut self, name: String) {
                self.name = name;
            }
            fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
                Ok(input_shape.to_vec())
            }
            fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
                self.activation.apply(x)
            }
            fn config(&self) -> Option<serde_json::Value> {
                Some(serde_json::json!({"name": self.name, "activation": self.activation.name()}))
            }
        }
    };
}

activation_layer!(
    /// Applies an [`Activation`] (Keras' `layers.Activation`).
    ActivationLayer,
    "Activation"
);
activation_layer!(
    /// max(x, 0) as a layer.
    ReLU,
    "ReLU"
);
activation_layer!(
    /// Softmax over the last axis as a layer: turns logits into probabilities.
    Softmax,
    "Softmax"
);

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> Self {
        ActivationLayer {
            name: String::new(),
            activation,
        }
    }
    /// A layer applying the activation called `name` in Keras.
    pub fn from_name(name: &str) -> Result<Self> {
        Activation::from_name(name)
            .map(Self::new)
            .map_err(|e| Error::Config(e.to_string()))
    }
}

impl ReLU {
    /// A ReLU layer.
    pub fn new() -> Self {
        ReLU {
            name: String::new(),
            activation: Activation::Relu,
        }
    }
}

impl Default for ReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl Softmax {
    /// A softmax layer.
    pub fn new() -> Self {
        Softmax {
            name: String::new(),
            activation: Activation::Softmax,
        }
    }
}

impl Default for Softmax {
    fn default() -> Self {
        Self::new()
    }
}
