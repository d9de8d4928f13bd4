//! The REST routes: TF Serving's status, metadata and predict endpoints for the latest
//! version, a numbered version or a labelled one, and Prometheus metrics.

use crate::batcher::{self, BatchConfig, Failure, Job, Queue};
use crate::metrics::Metrics;
use crate::models::ModelSet;
use crate::store::{ModelStore, Servable, TensorSpec};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rill_core::Tensor;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How requests are read and run.
#[derive(Debug, Clone)]
pub(crate) struct RouteConfig {
    pub batch: BatchConfig,
    pub max_body_bytes: usize,
    pub body_timeout: Duration,
}

pub(crate) struct AppState {
    pub models: Arc<ModelSet>,
    pub queue: Arc<Queue>,
    pub metrics: Metrics,
    pub config: RouteConfig,
}

type Shared = Arc<AppState>;

/// A reply: JSON, or TF Serving's error shape for failures.
pub(crate) struct Reply(StatusCode, String);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, "application/json")], self.1).into_response()
    }
}

fn ok(v: Value) -> Reply {
    Reply(StatusCode::OK, v.to_string())
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply(status, json!({"error": message.into()}).to_string())
}

/// Which version a URL names.
enum Target<'a> {
    Latest,
    Version(&'a str),
    Label(&'a str),
}

/// Splits TF Serving's `name:predict` path segment.
fn split_action(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (segment, None),
    }
}

fn not_found(name: &str, target: &Target) -> Reply {
    let spec = match target {
        Target::Latest => format!("Latest({name})"),
        Target::Version(v) => format!("Specific({name}, {v})"),
        Target::Label(l) => format!("Label({name}, {l})"),
    };
    error(
        StatusCode::NOT_FOUND,
        format!("Servable not found for request: {spec}"),
    )
}

/// The model called `name`.
fn model(state: &AppState, name: &str) -> Result<Arc<ModelStore>, Reply> {
    state
        .models
        .get(name)
        .ok_or_else(|| not_found(name, &Target::Latest))
}

/// The version a request is routed to: it runs on this one even if another appears.
fn resolve(state: &AppState, name: &str, target: &Target) -> Result<Arc<Servable>, Reply> {
    let store = model(state, name)?;
    let found = match target {
        Target::Latest => store.latest(),
        Target::Version(v) => {
            let v = v.parse::<u64>().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    format!("version '{v}' is not a number"),
                )
            })?;
            store.version(v)
        }
        Target::Label(l) => store.label(l),
    };
    found.ok_or_else(|| not_found(name, target))
}

fn status_entry(version: u64, state: &str, message: &str) -> Value {
    let code = if message.is_empty() { "OK" } else { "UNKNOWN" };
    json!({"version": version.to_string(), "state": state,
           "status": {"error_code": code, "error_message": message}})
}

fn status(state: &AppState, name: &str, target: &Target) -> Reply {
    let store = match model(state, name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let all = store.statuses();
    let picked: Vec<Value> = match target {
        Target::Latest => all
            .iter()
            .map(|s| status_entry(s.version, s.state, &s.error))
            .collect(),
        _ => {
            let version = match target {
                Target::Label(_) => resolve(state, name, target).map(|s| s.version),
                Target::Version(v) => v.parse::<u64>().map_err(|_| not_found(name, target)),
                Target::Latest => unreachable!("handled above"),
            };
            let Ok(v) = version else {
                return not_found(name, target);
            };
            match all.iter().find(|s| s.version == v) {
                Some(s) => vec![status_entry(s.version, s.state, &s.error)],
                None => return not_found(name, target),
            }
        }
    };
    ok(json!({ "model_version_status": picked }))
}

fn shape_proto(sample: &[usize]) -> Value {
    let mut dims = vec![json!({"size": "-1", "name": ""})];
    dims.extend(
        sample
            .iter()
            .map(|d| json!({"size": d.to_string(), "name": ""})),
    );
    json!({"dim": dims, "unknown_rank": false})
}

fn signature(specs: &[TensorSpec]) -> Value {
    specs
        .iter()
        .map(|s| {
            let info =
                json!({"dtype": "DT_FLOAT", "tensor_shape": shape_proto(&s.shape), "name": s.name});
            (s.name.clone(), info)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn metadata(state: &AppState, name: &str, target: &Target) -> Reply {
    match resolve(state, name, target) {
        Ok(s) => ok(json!({
            "model_spec": {"name": name, "signature_name": "", "version": s.version.to_string()},
            "metadata": {"signature_def": {"signature_def": {"serving_default": {
                "inputs": signature(&s.inputs),
                "outputs": signature(&s.outputs),
                "method_name": "tensorflow/serving/predict"
            }}}}
        })),
        Err(r) => r,
    }
}

/// Reads the whole body within the size limit (413) and the time limit (408).
async fn read_body(state: &AppState, body: Body) -> Result<axum::body::Bytes, Reply> {
    let limit = state.config.max_body_bytes;
    match tokio::time::timeout(state.config.body_timeout, to_bytes(body, limit)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(_)) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )),
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                state.config.body_timeout.as_secs_f64()
            ),
        )),
    }
}

/// The request's samples as jobs of at most `max_batch_size` rows, each with its receiver.
#[allow(clippy::type_complexity)]
fn jobs(
    servable: &Arc<Servable>,
    data: Vec<Vec<f32>>,
    rows: usize,
    max_batch_size: usize,
) -> Result<
    (
        Vec<Job>,
        Vec<tokio::sync::oneshot::Receiver<batcher::Answer>>,
    ),
    Reply,
> {
    let chunk = max_batch_size.max(1);
    let (mut jobs, mut replies) = (Vec::new(), Vec::new());
    for start in (0..rows).step_by(chunk) {
        let k = chunk.min(rows - start);
        let mut inputs = Vec::with_capacity(data.len());
        for (values, spec) in data.iter().zip(&servable.inputs) {
            let per: usize = values.len() / rows;
            let mut shape = vec![k];
            shape.extend_from_slice(&spec.shape);
            let part = values[start * per..(start + k) * per].to_vec();
            // The parser checked every sample against the input, up to size-1 axes.
            let t = Tensor::from_vec(part, &[k, per])
                .and_then(|t| t.reshape(&shape))
                .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            inputs.push(t);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        jobs.push(Job {
            servable: servable.clone(),
            inputs,
            reply: tx,
        });
        replies.push(rx);
    }
    Ok((jobs, replies))
}

async fn predict(state: &AppState, name: &str, target: Target<'_>, body: Body) -> Reply {
    let servable = match resolve(state, name, &target) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bytes = match read_body(state, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let parsed = match crate::request::parse(&bytes, &servable.inputs) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    drop(bytes);
    let row_format = parsed.row_format;
    let (jobs, replies) = match jobs(
        &servable,
        parsed.data,
        parsed.rows,
        state.config.batch.max_batch_size,
    ) {
        Ok(j) => j,
        Err(r) => return r,
    };
    if state.queue.push(jobs).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy: too many samples are waiting; retry later",
        );
    }
    // If the client goes away, this future is dropped with the receivers, and the workers
    // skip the jobs still queued.
    let mut parts: Vec<Vec<Tensor>> = Vec::with_capacity(replies.len());
    for rx in replies {
        match rx.await {
            Ok(Ok(outs)) => parts.push(outs),
            Ok(Err(Failure::BadInput(e))) => return error(StatusCode::BAD_REQUEST, e),
            Ok(Err(Failure::Internal(e))) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
            Err(_) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the inference worker dropped the request",
                )
            }
        }
    }
    let outputs = if parts.len() == 1 {
        parts.remove(0)
    } else {
        let n = parts[0].len();
        let joined = (0..n)
            .map(|k| {
                let pieces: Vec<Tensor> = parts.iter().map(|p| p[k].clone()).collect();
                Tensor::concat(&pieces, 0)
            })
            .collect::<rill_core::Result<Vec<_>>>();
        match joined {
            Ok(j) => j,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    };
    Reply(
        StatusCode::OK,
        crate::answer::write(&servable.outputs, &outputs, row_format),
    )
}

fn unknown_method(method: Option<&str>) -> Reply {
    let m = method.unwrap_or("");
    error(
        StatusCode::NOT_FOUND,
        format!("unknown method ':{m}'; this server answers ':predict'"),
    )
}

async fn model_get(State(s): State<Shared>, Path(segment): Path<String>) -> Reply {
    match split_action(&segment) {
        (name, None) => status(&s, name, &Target::Latest),
        (_, Some(a)) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("use POST for ':{a}'"),
        ),
    }
}

async fn model_post(
    State(s): State<Shared>,
    Path(segment): Path<String>,
    req: Request<Body>,
) -> Reply {
    match split_action(&segment) {
        (name, Some("predict")) => predict(&s, name, Target::Latest, req.into_body()).await,
        (_, other) => unknown_method(other),
    }
}

/// `versions` or `labels`, as a target.
fn target<'a>(kind: &str, id: &'a str) -> Option<Target<'a>> {
    match kind {
        "versions" => Some(Target::Version(id)),
        "labels" => Some(Target::Label(id)),
        _ => None,
    }
}

async fn pinned_get(
    State(s): State<Shared>,
    Path((name, kind, segment)): Path<(String, String, String)>,
) -> Reply {
    let (id, action) = split_action(&segment);
    let Some(t) = target(&kind, id) else {
        return no_route().await;
    };
    match action {
        None => status(&s, &name, &t),
        Some(a) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("use POST for ':{a}'"),
        ),
    }
}

async fn pinned_post(
    State(s): State<Shared>,
    Path((name, kind, segment)): Path<(String, String, String)>,
    req: Request<Body>,
) -> Reply {
    let (id, action) = split_action(&segment);
    let Some(t) = target(&kind, id) else {
        return no_route().await;
    };
    match action {
        Some("predict") => predict(&s, &name, t, req.into_body()).await,
        other => unknown_method(other),
    }
}

async fn latest_metadata(State(s): State<Shared>, Path(name): Path<String>) -> Reply {
    metadata(&s, &name, &Target::Latest)
}

async fn pinned_metadata(
    State(s): State<Shared>,
    Path((name, kind, id)): Path<(String, String, String)>,
) -> Reply {
    match target(&kind, &id) {
        Some(t) => metadata(&s, &name, &t),
        None => no_route().await,
    }
}

async fn prometheus(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&s.queue),
    )
        .into_response()
}

async fn no_route() -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; see /v1/models/{name}",
    )
}

/// Counts every request by its route and status, with its latency.
async fn track(
    State(s): State<Shared>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let endpoint = if path.ends_with(":predict") {
        "predict"
    } else if path.ends_with("/metadata") {
        "metadata"
    } else if path.starts_with("/monitoring") {
        "metrics"
    } else {
        "status"
    };
    let response = next.run(req).await;
    s.metrics
        .record(endpoint, response.status().as_u16(), started.elapsed());
    response
}

/// The HTTP routes for `models`, with the batching inference workers started (an error only
/// when the system refuses a thread).
pub(crate) fn router(models: Arc<ModelSet>, config: RouteConfig) -> std::io::Result<Router> {
    let queue = batcher::start(config.batch)?;
    let state: Shared = Arc::new(AppState {
        models,
        queue,
        metrics: Metrics::default(),
        config,
    });
    Ok(Router::new()
        .route("/v1/models/{segment}", get(model_get).post(model_post))
        .route("/v1/models/{name}/metadata", get(latest_metadata))
        .route(
            "/v1/models/{name}/{kind}/{segment}",
            get(pinned_get).post(pinned_post),
        )
        .route(
            "/v1/models/{name}/{kind}/{id}/metadata",
            get(pinned_metadata),
        )
        .route("/monitoring/prometheus/metrics", get(prometheus))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state))
}
