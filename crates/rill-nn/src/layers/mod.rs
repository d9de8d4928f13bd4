//! Keras-style layers. A layer creates its weights in [`Layer::build`] from the per-sample input
//! shape (no batch dimension), states its output shape in [`Layer::compute_output_shape`] and
//! does its work in [`Layer::call`] — through `&self`, so one built model serves many threads.
//! Its arguments are a typed, serde-derived config ([`Configurable`]); one registry
//! ([`register_layer`]) turns configs back into layers, built-in or the user's own.
//!
//! Adding a layer: one file here implementing [`Layer`] and [`Configurable`] (and [`OnnxForm`]
//! and [`KerasForm`], its ONNX export and its Keras arguments both ways), and one line in the
//! registry (`registry.rs`).

mod activation;
mod attention;
mod batch_norm;
mod bidirectional;
mod category_encoding;
mod conv1d;
mod conv2d;
mod dense;
mod dropout;
mod embedding;
mod example;
mod flatten;
mod global_pooling1d;
mod gru;
mod hashing;
mod integer_lookup;
mod keras_form;
mod kernel_bias;
mod layer_norm;
mod lstm;
mod masking;
mod merge;
mod multi_head_attention;
mod normalization;
mod onnx_form;
mod pooling;
mod pooling1d;
mod recurrent;
mod registry;
mod regularizer;
mod rescaling;
mod reshape;
pub(crate) mod serde_helpers;
mod simple_rnn;
mod string_lookup;
mod text_vectorization;
pub mod vocabulary;

pub use activation::{ActivationConfig, ActivationLayer, ReLU, Softmax};
pub use attention::{Attention, AttentionConfig, ScoreMode};
pub use batch_norm::{BatchNormalization, BatchNormalizationConfig};
pub use bidirectional::{Bidirectional, BidirectionalConfig, MergeMode, WrappedLayer};
pub use category_encoding::{CategoryEncoding, CategoryEncodingConfig};
pub use conv1d::{Conv1D, Conv1DConfig, Padding1D};
pub use conv2d::{Conv2D, Conv2DConfig};
pub use dense::{Dense, DenseConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use embedding::{Embedding, EmbeddingConfig};
pub use example::{LayerExample, SampleValues, SAMPLE_WORDS};
pub use flatten::Flatten;
pub use global_pooling1d::{GlobalAveragePooling1D, GlobalMaxPooling1D};
pub use gru::{Gru, GruConfig};
pub use hashing::{Hashing, HashingConfig, MaskValue};
pub use integer_lookup::{IntegerLookup, IntegerLookupConfig};
pub use keras_form::{
    keras_padding, keras_regularizer, with_keras_kernel_bias, KerasArgs, KerasForm, KerasInputs,
    NamedValues, WeightGroups, KERAS_IGNORED,
};
pub use kernel_bias::KernelBiasConfig;
pub use layer_norm::{LayerNormalization, LayerNormalizationConfig};
pub use lstm::{Lstm, LstmConfig};
pub use masking::{Masking, MaskingConfig};
pub use merge::{Add, Concatenate, Multiply};
pub use multi_head_attention::{MultiHeadAttention, MultiHeadAttentionConfig};
pub use normalization::{Normalization, NormalizationConfig};
pub use onnx_form::{
    onnx_axis, onnx_clip_bounds, onnx_computed, onnx_constant, onnx_unsupported, pair, window_pads,
    OnnxAttr, OnnxForm, OnnxGraph, OnnxImport, OnnxLayer, OnnxNode,
};
pub use pooling::{
    AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D, PoolWindow, PoolingConfig,
};
pub use pooling1d::{AveragePooling1D, MaxPooling1D, Pooling1DConfig};
pub use recurrent::RecurrentConfig;
pub use registry::{
    from_config, keras_form, keras_kinds, keras_signature, layer_examples, onnx_form,
    onnx_import_ops, onnx_importers, onnx_kinds, register_keras_layer, register_layer,
    register_layer_with_every_form, register_onnx_layer, registered_kinds, KerasMapping,
    KerasSignature, OnnxExport, OnnxImportFn,
};
pub use regularizer::Regularizer;
pub use rescaling::{Rescaling, RescalingConfig};
pub use reshape::{Reshape, ReshapeConfig};
pub use serde_helpers::{
    check_rank, check_sample_values, check_sizes, MAX_DIM, MAX_RANK, MAX_SAMPLE_VALUES,
};
pub use simple_rnn::{SimpleRnn, SimpleRnnConfig};
pub use string_lookup::{StringLookup, StringLookupConfig};
pub use text_vectorization::{
    keras_vocabulary_file, Split, Standardize, TextVectorization, TextVectorizationConfig,
};
pub use vocabulary::OutputMode;

use crate::{Error, Result, Variable};
use rill_core::Tensor;

/// A building block of a model. Implement it (and [`Configurable`], to save and load) for a
/// custom layer, and it trains, evaluates, predicts, saves and summarises like a built-in one.
/// It says what a layer is — build, shape rule, call, variables, config; how two layers run
/// faster together is the model's business (its graph is rewritten when built: `fusion.rs`).
pub trait Layer: std::any::Any + Send + Sync + 'static {
    /// The Keras class name, e.g. `Dense` (shown by `summary`, stored in model files).
    fn kind(&self) -> &'static str;
    /// Creates the weights for samples of `input_shape` (no batch dimension). Called once, by
    /// the model, before the first `call`.
    fn build(&mut self, _input_shape: &[usize]) -> Result<()> {
        Ok(())
    }
    /// The per-sample output shape for per-sample inputs of `input_shape` (Keras'
    /// `compute_output_shape`), or why such inputs cannot be taken.
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>>;
    /// Computes the output for a batch; `training` switches dropout and batch statistics on.
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor>;
    /// The per-sample output shape for the per-sample shapes of each input: a layer of several
    /// inputs (a merge: `Add`, `Concatenate`) says how it combines them here. The default takes
    /// exactly one input, by [`Layer::compute_output_shape`].
    fn output_shape_for(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        match input_shapes {
            [one] => self.compute_output_shape(one),
            _ => Err(Error::Config(format!(
                "{} takes one input, found {}",
                self.kind(),
                input_shapes.len()
            ))),
        }
    }
    /// Creates the weights for inputs of `input_shapes`; the default builds for one input by
    /// [`Layer::build`] (a merge has no weights).
    fn build_for(&mut self, input_shapes: &[Vec<usize>]) -> Result<()> {
        match input_shapes {
            [one] => self.build(one),
            _ => Ok(()),
        }
    }
    /// Computes the output for a batch of each input; the default takes exactly one, by
    /// [`Layer::call`].
    fn call_on(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        match inputs {
            [x] => self.call(x, training),
            _ => Err(Error::Config(format!(
                "{} takes one input, found {}",
                self.kind(),
                inputs.len()
            ))),
        }
    }
    /// Computes the output for a batch of each input when the first input carries a mask
    /// (batch, steps) of its real steps, 1, and padding, 0 — from an `Embedding` with
    /// `mask_zero` or a `Masking` layer (Keras' `call(inputs, mask=…)`). A layer that honours
    /// masks (a recurrent layer skips the padding, `GlobalAveragePooling1D` averages the real
    /// steps only) overrides it; the default ignores the mask.
    fn call_masked(&self, inputs: &[Tensor], mask: &Tensor, training: bool) -> Result<Tensor> {
        let _ = mask;
        self.call_on(inputs, training)
    }
    /// The mask of this layer's output, from its inputs and their masks (Keras'
    /// `compute_mask`): the default passes none on, so a mask stops at a layer that does not
    /// say what it becomes. Layers that keep the steps where they were pass it through
    /// ([`pass_mask`]); `Embedding(mask_zero)` and `Masking` make one.
    fn output_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        let _ = (inputs, masks);
        Ok(None)
    }
    /// The layer's variables, trainable weights first (handles sharing the layer's values).
    fn variables(&self) -> Vec<Variable> {
        Vec::new()
    }
    /// A name for each variable, in [`Layer::variables`] order and unique within the layer: the
    /// variables' own names, which a layer holding layers prefixes with theirs.
    fn variable_names(&self) -> Vec<String> {
        self.variables()
            .iter()
            .map(|v| v.name().to_string())
            .collect()
    }
    /// The penalty this layer adds to the loss (from kernel regularizers).
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }
    /// The arguments that rebuild this layer (Keras' `get_config`), or `None` when it cannot be
    /// saved. [`Configurable`] layers get this from [`configurable_layer!`](crate::configurable_layer).
    fn config(&self) -> Option<serde_json::Value> {
        None
    }
    /// Freezes (`false`) or unfreezes every weight of the layer — Keras' `layer.trainable`.
    /// A frozen layer's weights stay as they are through `fit`.
    fn set_trainable(&self, on: bool) {
        self.variables().iter().for_each(|v| v.set_trainable(on));
    }
    /// Whether the layer trains: false once frozen (a layer without weights counts as trainable,
    /// as in Keras).
    fn is_trainable(&self) -> bool {
        let weights: Vec<Variable> = self
            .variables()
            .into_iter()
            .filter(|v| v.role() == crate::VariableRole::Weight)
            .collect();
        weights.is_empty() || weights.iter().any(Variable::is_trainable)
    }
    /// Forgets what a stateful layer carries from one batch to the next (Keras'
    /// `reset_states`); nothing for other layers.
    fn reset_states(&self) {}
    /// Learns a preprocessing layer's state from `data` before training — Keras' `adapt`
    /// (a `TextVectorization`'s vocabulary). Other layers learn nothing this way: an error.
    fn adapt(&mut self, _data: &Tensor) -> Result<()> {
        Err(Error::Config(format!(
            "{}: learns nothing from data; adapt is for preprocessing layers (TextVectorization, StringLookup)",
            self.kind()
        )))
    }
    /// The dtype this layer reads when it is not f32 numbers: [`DType::Str`](rill_core::DType::Str)
    /// for a layer that turns raw text into numbers (`TextVectorization`, `StringLookup`),
    /// [`DType::I64`](rill_core::DType::I64) for one that reads integer ids exactly
    /// (`IntegerLookup`, `CategoryEncoding`). A sequential model whose first layer says so
    /// takes that as its input.
    fn input_dtype(&self) -> Option<rill_core::DType> {
        None
    }
    /// The model inside, when this layer is a nested model (for summaries and configs).
    fn as_model(&self) -> Option<&crate::Model> {
        None
    }
}

/// A layer rebuilt from a typed configuration — Keras' `get_config` / `from_config`. The config
/// is plain data (serde), so a model file stores it as JSON and [`register_layer`] is all a
/// custom layer needs to load.
pub trait Configurable: Layer + Sized {
    /// The Keras class name stored in model files.
    const KIND: &'static str;
    /// The layer's arguments.
    type Config: serde::Serialize + serde::de::DeserializeOwned;
    /// The arguments of this layer.
    fn get_config(&self) -> Self::Config;
    /// A fresh (unbuilt) layer from its arguments; checks them.
    fn from_config(config: Self::Config) -> Result<Self>;
    /// Arguments and inputs the test every registered layer passes builds this layer with
    /// (`crates/rill/tests/every_layer.rs`, Keras' `run_layer_test`): each built-in layer
    /// offers at least one, covering its options that change the computation.
    fn examples() -> Vec<LayerExample<Self::Config>> {
        Vec::new()
    }
}

/// Writes the two [`Layer`] methods a [`Configurable`] layer derives from its config: `kind`
/// and `config`. Use it inside `impl Layer for …`.
#[macro_export]
macro_rules! configurable_layer {
    () => {
        fn kind(&self) -> &'static str {
            <Self as $crate::layers::Configurable>::KIND
        }
        fn config(&self) -> Option<$crate::layers::ConfigValue> {
            $crate::layers::config_json(self)
        }
    };
}

/// The first input's mask, unchanged: [`Layer::output_mask`] for layers that keep the steps
/// of a sequence where they are (Dense on the last axis, Dropout, activations, normalisations).
pub fn pass_mask(masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
    Ok(masks.first().cloned().flatten())
}

/// A layer's configuration as JSON.
pub type ConfigValue = serde_json::Value;

/// The JSON form of a [`Configurable`] layer's config.
pub fn config_json<L: Configurable>(layer: &L) -> Option<serde_json::Value> {
    serde_json::to_value(layer.get_config()).ok()
}
