//! What Rill's tests share, so that each test file holds only its own checks.
//!
//! - [`crafted`]: model files made to do harm — ranks deeper than any stack, constants folded
//!   into gigabytes, zip headers that lie — in each format Rill reads, built from a good file's
//!   bytes (so they stay valid in every other respect) or from ONNX messages.
//! - [`fixtures`]: the JSON reference values the scripts in `tools/` write, and the Python
//!   environment of the outside implementations.
//! - [`server`]: `rill serve` on a loopback port for a test, and the client calls made of it.

#![warn(missing_docs)]

pub mod crafted;
pub mod fixtures;
pub mod server;
