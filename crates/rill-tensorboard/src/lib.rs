//! # rill-tensorboard
//!
//! Training as TensorBoard shows it: event files (TFRecord framing with masked CRC-32C, the
//! `Event` / `Summary` protobuf messages encoded here) holding scalars, histograms, images and
//! the model graph, and [`TensorBoard`], the Keras callback that writes them during `fit`.
//!
//! ```no_run
//! use rill_tensorboard::EventWriter;
//! let mut w = EventWriter::create("out/logs/custom")?;
//! for step in 0..100 {
//!     w.scalar("loss", 1.0 / (1.0 + step as f64), step)?;
//! }
//! w.flush()?;
//! # Ok::<(), std::io::Error>(())
//! ```

#![warn(missing_docs)]

mod callback;
pub mod crc;
mod event_writer;
mod keras_graph;
pub mod proto;

pub use callback::{TensorBoard, UpdateFreq};
pub use event_writer::{EventWriter, HISTOGRAM_BUCKETS};
pub use keras_graph::keras_model_json;
