//! # rill-nn
//!
//! Keras-style deep learning on top of [`rill_core`]: layers, losses, optimizers, metrics,
//! callbacks, and [`Model`] (built as a [`Sequential`] stack or a functional graph) with `compile` / `fit` / `evaluate` / `predict`. Defaults follow
//! Keras, so a model ported from a Keras tutorial trains the same way.
//!
//! ```
//! use rill_nn::prelude::*;
//! rill_core::set_seed(0);
//! // XOR-like toy data: the label is whether x0 and x1 have the same sign.
//! let x = Tensor::from_vec(vec![1.0f32, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0], &[4, 2])?;
//! let y = Tensor::from_vec(vec![1i64, 1, 0, 0], &[4])?;
//! let mut model = Sequential::new(vec![
//!     Box::new(Dense::new(8).activation(Activation::Tanh)),
//!     Box::new(Dense::new(2)),
//! ]);
//! model.compile(Adam::new(0.05), SparseCategoricalCrossentropy::from_logits(), &["accuracy"])?;
//! let history = model.fit((&x, &y), FitConfig::default().epochs(100).batch_size(4).verbose(Verbosity::Silent))?;
//! assert_eq!(history.last("accuracy"), Some(1.0));
//! # Ok::<(), rill_nn::Error>(())
//! ```

#![warn(missing_docs)]

pub mod activations;
pub mod callbacks;
mod error;
pub mod initializers;
pub mod layers;
pub mod losses;
pub mod metrics;
mod model;
pub mod optimizers;
pub mod saveable;
mod variable;

pub use activations::Activation;
pub use error::{batch_shape, Error, Result};
pub use initializers::Initializer;
pub use model::{
    fits, set_progress_output, FitConfig, FunctionalBuilder, GraphView, History, Logs, Losses,
    Metrics, Model, Node, NodeOp, NodeView, ProgressOutput, Sequential, Verbosity,
};
pub use rill_core::{Batch, Batches, Data, Feed};
/// The serde crate Rill's configs derive with, for custom layers' configs.
pub use serde;
pub use variable::{Variable, VariableId, VariableRole};

/// Everything a training script needs: `use rill_nn::prelude::*;`.
pub mod prelude {
    pub use crate::callbacks::{
        Callback, CsvLogger, EarlyStopping, LearningRateScheduler, Mode, ReduceLROnPlateau,
        TerminateOnNaN,
    };
    pub use crate::layers::{
        ActivationLayer, Add, Attention, AveragePooling1D, AveragePooling2D, BatchNormalization,
        Bidirectional, Concatenate, Configurable, Conv1D, Conv2D, Dense, Dropout, Embedding,
        Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, Gru, Layer,
        LayerNormalization, Lstm, Masking, MaxPooling1D, MaxPooling2D, MultiHeadAttention,
        Multiply, Padding1D, ReLU, Regularizer, Rescaling, Reshape, SimpleRnn, Softmax,
    };
    pub use crate::losses::{
        BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss, MeanAbsoluteError,
        MeanSquaredError, SparseCategoricalCrossentropy,
    };
    pub use crate::metrics::Metric;
    pub use crate::optimizers::schedules::{CosineDecay, ExponentialDecay, PiecewiseConstantDecay};
    pub use crate::optimizers::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
    pub use crate::{
        Activation, Batch, Batches, Data, Feed, FitConfig, FunctionalBuilder, History, Initializer,
        Logs, Losses, Metrics, Model, Sequential, Variable, Verbosity,
    };
    pub use rill_core::{DType, Padding, Tensor};
}
