//! # rill-serve
//!
//! Serves Rill models over TensorFlow Serving's REST API, so that clients written for TF
//! Serving work unchanged:
//!
//! - `GET /v1/models/{name}` and `/v1/models/{name}/versions/{v}`: version status;
//! - `GET /v1/models/{name}/metadata`: the signature (input and output names, dtypes, shapes);
//! - `POST /v1/models/{name}:predict` (and `/versions/{v}:predict`): `{"instances": [...]}` →
//!   `{"predictions": [...]}`, or `{"inputs": ...}` → `{"outputs": ...}`. A model with several
//!   inputs takes them by name (`{"instances": [{"image": ..., "meta": ...}]}` or
//!   `{"inputs": {"image": [...], "meta": [...]}}`); one with several outputs answers each
//!   sample (or the whole batch) as an object keyed by output name, as TF Serving does;
//! - `GET /monitoring/prometheus/metrics`: request counts and a latency histogram.
//!
//! Errors are `{"error": "..."}` with 400 for a bad request and 404 for an unknown model or
//! version. Requests that arrive together are run as one batch by one of the inference workers
//! ([`batcher`]), and a newer numbered version folder under the base path replaces the served
//! model without a restart ([`store`]); requests in flight finish on the version they started on.

pub mod batcher;
mod http;
mod metrics;
mod request;
pub mod store;

pub use http::{router, serve, ServerConfig};
pub use store::{ModelSource, ModelStore, TensorSpec};

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
