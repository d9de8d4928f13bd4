//! The input pipeline: a [`Dataset`] is a recipe for a stream of [`Element`]s, re-run each
//! epoch, built from tensors and transformed lazily — Rill's counterpart of `tf.data`.

pub mod augment;
mod dataset;
mod stages;

pub use dataset::{Dataset, Element};
