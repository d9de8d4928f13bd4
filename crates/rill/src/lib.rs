//! # Rill
//!
//! Keras-style deep learning in Rust. This crate is the one to depend on: it gathers
//! tensors and autodiff ([`rill_core`]), layers and training ([`rill_nn`]), data
//! ([`rill_data`]), model files (one door for every format in [`rill_saving`]; Rill's own in
//! [`rill_io`], ONNX in [`rill_onnx`], Keras in [`rill_keras`]) and pictures ([`rill_viz`])
//! behind one `use rill::prelude::*;`.
//!
//! ```no_run
//! use rill::prelude::*;
//! let data = rill::datasets::fashion_mnist::load_data()?;
//! let x = data.train.images.to_dtype(DType::F32)?.div_scalar(255.0)?;
//! let mut model = Sequential::new(vec![
//!     Box::new(Flatten::new()),
//!     Box::new(Dense::new(128).activation(Activation::Relu)),
//!     Box::new(Dense::new(10)),
//! ])
//! .with_input_shape(&[28, 28])?;
//! model.compile(Adam::default(), SparseCategoricalCrossentropy::from_logits(), &["accuracy"])?;
//! model.fit((&x, &data.train.labels), FitConfig::default().epochs(10))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod zoo;

/// The book's pages (`docs/src`): their Rust snippets are compiled and run as doc tests, so the
/// book cannot drift from the code.
#[cfg(doctest)]
mod book {
    macro_rules! pages {
        ($($name:ident => $path:literal),* $(,)?) => {
            $(#[doc = include_str!(concat!("../../../docs/src/", $path))] pub struct $name;)*
        };
    }
    pages! {
        Introduction => "introduction.md",
        Crates => "crates.md",
        Models => "models.md",
        WritingALayer => "writing-a-layer.md",
        Python => "python.md",
        KerasGuides => "keras-guides.md",
        ModelFiles => "model-files.md",
        Onnx => "onnx.md",
        KerasFiles => "keras-files.md",
        Serving => "serving.md",
        Tensorboard => "tensorboard.md",
        Data => "data.md",
        Testing => "testing.md",
        Benchmarks => "performance/benchmarks.md",
        TimeToAccuracy => "performance/time-to-accuracy.md",
        MicroBenchmarks => "performance/micro-benchmarks.md",
        Cores => "performance/cores.md",
        Fusion => "performance/fusion.md",
        Convolutions => "performance/convolutions.md",
        Avx512Avx2 => "performance/avx512-avx2.md",
    }
}

/// Why a model file could not be read or written ([`rill_saving::Error`]).
pub use rill_saving::Error as ModelFileError;
pub use rill_saving::{
    checkpoint, load_class_names, load_model, load_model_with_class_names, load_weights,
    save_model, save_model_with_classes, ModelFormat,
};

pub use rill_core as core;
pub use rill_data as data;
pub use rill_data::datasets;
pub use rill_io as io;
pub use rill_keras as keras;
pub use rill_nn as nn;
pub use rill_onnx as onnx;
pub use rill_saving as saving;
pub use rill_serve as serve;
pub use rill_tensorboard as tensorboard;
pub use rill_viz as viz;

/// Everything a training script needs: tensors and gradients, layers, losses, optimizers,
/// metrics, callbacks (those that write files too), datasets with augmentation, images, and
/// model files.
pub mod prelude {
    pub use rill_core::{
        no_grad, set_seed, Conv2dOptions, DType, Generator, Gradients, Padding, Tensor,
    };
    pub use rill_data::images::{image_dataset_from_directory, load_image};
    pub use rill_data::{augment, Dataset};
    pub use rill_io::BackupAndRestore;
    pub use rill_nn::metrics::{Accuracy, AccuracyKind, Auc, ClassMetric, SparseTopKAccuracy};
    pub use rill_nn::prelude::*;
    pub use rill_onnx::SaveOnnx;
    pub use rill_saving::{load_model, save_model, ModelCheckpoint, ModelFiles, ModelFormat};
    pub use rill_tensorboard::TensorBoard;
}
