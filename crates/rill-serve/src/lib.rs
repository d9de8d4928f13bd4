//! # rill-serve
//!
//! Serves Rill models over TensorFlow Serving's REST API, so that clients written for TF
//! Serving work unchanged:
//!
//! - `GET /v1/models/{name}`: the status of every version (`AVAILABLE`, or `END` with the
//!   reason it failed to load); `/versions/{v}` and `/labels/{label}` one version's;
//! - `GET /v1/models/{name}/metadata` (and under `/versions/{v}` or `/labels/{label}`): the
//!   signature (input and output names, dtypes, shapes);
//! - `POST /v1/models/{name}:predict` (and `/versions/{v}:predict`, `/labels/{label}:predict`):
//!   `{"instances": [...]}` → `{"predictions": [...]}`, or `{"inputs": ...}` →
//!   `{"outputs": ...}`. A model with several inputs takes them by name
//!   (`{"instances": [{"image": ..., "meta": ...}]}` or `{"inputs": {"image": [...], "meta":
//!   [...]}}`); one with several outputs answers each sample (or the whole batch) as an object
//!   keyed by output name, as TF Serving does. `NaN`, `Infinity` and `-Infinity` are read and
//!   written as TF Serving does. Samples that differ from the model's input only by axes of
//!   size 1 are taken (a 28×28×1 image for a 28×28 input);
//! - `GET /monitoring/prometheus/metrics`: request counts, a latency histogram, the queue;
//! - `GET /`: a demo page — draw or drop an image, see the top classes.
//!
//! Errors are `{"error": "..."}`: 400 for a bad request, 404 for an unknown model, version or
//! label, 408 for a body that does not arrive in time, 413 for one too large, 503 when the
//! queue is full, 500 when a model fails.
//!
//! Requests that arrive together are run as one batch by one of the inference workers
//! ([`batcher`]); a large request is split into batches and the queue is bounded. Numbered
//! version folders under a base path are rescanned while serving ([`store`]): a version policy
//! picks which are served, a version that fails to load is logged and never takes the server
//! down, and each request finishes on the version it was routed to. Connections are bounded
//! in number and in time ([`ServerConfig`]).

#![warn(missing_docs)]

mod answer;
pub mod batcher;
pub mod config_file;
mod demo;
pub mod grpc;
mod inference;
mod listener;
mod metrics;
mod models;
mod request;
mod routes;
pub mod store;

pub use inference::Values;
pub use listener::{serve, serve_with_grpc, ServerConfig};
pub use models::ModelSet;
pub use store::{ModelSource, ModelStore, TensorSpec, VersionPolicy, VersionStatus};

/// Reads a REST predict body as the server does, for a model with `inputs`: the number of
/// samples and, per input, their values row-major — or the error a client would get. For the
/// request parser's fuzz target and for checking requests offline.
#[doc(hidden)]
pub fn parse_predict_request(
    body: &[u8],
    inputs: &[TensorSpec],
) -> std::result::Result<(usize, Vec<Values>), String> {
    request::parse(body, inputs).map(|p| (p.rows, p.data))
}

/// What went wrong starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No model could be loaded.
    #[error("{0}")]
    Model(String),
    /// The address could not be bound or served.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
