//! # rill-data
//!
//! Getting data into Rill: the IDX reader ([`idx`]), built-in datasets ([`datasets`]) found
//! locally or downloaded once and verified, PNG and JPEG images ([`images`]), and the input
//! pipeline ([`Dataset`]) — Rill's counterpart of `tf.data`.

#![warn(missing_docs)]

pub mod datasets;
mod error;
pub mod idx;
pub mod images;
mod pipeline;

pub use error::{Error, Result};
pub use pipeline::{augment, Dataset, Element};
