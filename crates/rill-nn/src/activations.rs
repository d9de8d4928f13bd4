//! Activation functions by name, as Keras' `activation=` argument takes them.

use crate::{Error, Result};
use rill_core::Tensor;

/// An elementwise (or, for softmax, last-axis) activation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Activation {
    /// The identity (Keras' `None` / `"linear"`).
    #[default]
    Linear,
    /// max(x, 0)
    Relu,
    /// The logistic sigmoid.
    Sigmoid,
    /// tanh
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    /// Exact GELU.
    Gelu,
    /// ELU with α = 1.
    Elu,
    /// Leaky ReLU with Keras' α = 0.2.
    LeakyRelu,
    /// ln(1 + eˣ)
    Softplus,
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 9] = [
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Gelu,
        Activation::Elu,
        Activation::LeakyRelu,
        Activation::Softplus,
    ];

    /// Applies the activation.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Linear => x.clone(),
            Activation::Relu => x.relu()?,
            Activation::Sigmoid => x.sigmoid()?,
            Activation::Tanh => x.tanh()?,
            Activation::Softmax => x.softmax(-1)?,
            Activation::Gelu => x.gelu()?,
            Activation::Elu => x.elu(1.0)?,
            Activation::LeakyRelu => x.leaky_relu(0.2)?,
            Activation::Softplus => x.softplus()?,
        })
    }
    /// Keras' name for it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Gelu => "gelu",
            Activation::Elu => "elu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Softplus => "softplus",
        }
    }
    /// Parses a Keras name.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| Error::Config(format!("unknown activation '{name}'")))
    }
}

impl serde::Serialize for Activation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Activation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Keras writes `null` for no activation in some configs.
        let name: Option<String> = serde::Deserialize::deserialize(d)?;
        Activation::from_name(name.as_deref().unwrap_or("linear")).map_err(serde::de::Error::custom)
    }
}
