//! Keras-style layers. A layer creates its weights in [`Layer::build`] from the per-sample input
//! shape (no batch dimension) and does its work in [`Layer::call`]. Implement this trait for a
//! custom layer and it trains, evaluates and predicts inside [`Sequential`](crate::Sequential)
//! like any built-in one.

mod activation;
mod batch_norm;
mod config;
mod conv2d;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod kernel_bias;
mod layer_norm;
mod merge;
mod pooling;
mod regularizer;
mod rescaling;
mod reshape;

pub use activation::{ActivationLayer, ReLU, Softmax};
pub use batch_norm::BatchNormalization;
pub use config::{from_config, register_layer};
pub use conv2d::Conv2D;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use layer_norm::LayerNormalization;
pub use merge::{Add, Concatenate, Merge, Multiply};
pub use pooling::{AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D};
pub use regularizer::Regularizer;
pub use rescaling::Rescaling;
pub use reshape::Reshape;

use crate::{Result, Variable};
use rill_core::Tensor;

/// A building block of a model.
pub trait Layer: Send {
    /// The Keras class name, e.g. `Dense` (shown by `summary`).
    fn kind(&self) -> &'static str;
    /// This layer's name within its model, e.g. `dense_1`.
    fn name(&self) -> &str;
    /// Renames the layer (a model gives unnamed layers Keras-style unique names).
    fn set_name(&mut self, name: String);
    /// Creates the weights for samples of `input_shape` (no batch dimension) and returns the
    /// per-sample output shape. Called once, before the first `call`.
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>>;
    /// Computes the output for a batch; `training` switches dropout and batch statistics on.
    fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor>;
    /// The layer's weights, trainable first.
    fn variables(&self) -> Vec<&Variable> {
        Vec::new()
    }
    /// A name for each weight, in [`Layer::variables`] order and unique within the layer: the
    /// variables' own names, which a layer holding layers prefixes with theirs.
    fn variable_names(&self) -> Vec<String> {
        self.variables().iter().map(|v| v.name.clone()).collect()
    }
    /// The layer's weights, mutably (for the optimizer and for loading).
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        Vec::new()
    }
    /// The penalty this layer adds to the loss (from kernel regularizers).
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }
    /// The arguments that rebuild this layer (Keras' `get_config`), or `None` when it cannot be
    /// saved. [`from_config`] turns them back into a layer.
    fn config(&self) -> Option<serde_json::Value> {
        None
    }
}
