//! ONNX out and in.
//!
//! - **Export**: [`export`] (or `model.save_onnx(path)` through [`SaveOnnx`]) writes any model
//!   built from Rill's layers as an ONNX file, opset 17, with a dynamic batch dimension, that
//!   onnxruntime, OpenVINO, TensorRT or onnxruntime-web run.
//! - **Import**: [`load`] reads an ONNX file (from `torch.onnx.export`, Keras, or Rill) into a
//!   Rill [`Model`](rill_nn::Model): a functional graph that predicts, summarises, saves as
//!   `.rill` and fine-tunes with `fit`. The file's layout is kept (NCHW inputs stay NCHW).
//!
//! The protobuf messages are in [`proto`], written from the ONNX specification's field
//! numbers.

#![warn(missing_docs)]

mod attributes;
mod error;
mod export;
mod import;
pub mod proto;
mod tensors;

pub use error::{Error, Result};
pub use export::{export, to_onnx, ExportOptions, SaveOnnx, IR_VERSION, OPSET};
pub use import::{
    class_names, load, load_bytes, load_with_class_names, register_layers, supported_ops,
    MAX_OPSET, MIN_OPSET,
};
