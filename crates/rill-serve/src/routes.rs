//! The REST routes: TF Serving's status, metadata and predict endpoints for the latest
//! version, a numbered version or a labelled one, and Prometheus metrics.

use crate::batcher::{self, BatchConfig, Queue};
use crate::inference::{self, Refusal};
use crate::metrics::Metrics;
use crate::models::ModelSet;
use crate::store::{ModelStore, Servable, TensorSpec};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
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
    let max_batch_size = state.config.batch.max_batch_size;
    let run = inference::run(
        &state.queue,
        &servable,
        parsed.data,
        parsed.rows,
        max_batch_size,
    );
    // If the client goes away, this future is dropped, and the workers skip its queued jobs.
    match run.await {
        Ok(outputs) => Reply(
            StatusCode::OK,
            crate::answer::write(&servable.outputs, &outputs, parsed.row_format),
        ),
        Err(Refusal::BadInput(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(Refusal::Busy) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy: too many samples are waiting; retry later",
        ),
        Err(Refusal::Internal(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
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

async fn demo_page(State(s): State<Shared>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Everything the page needs is inline or from this server.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:",
            ),
        ],
        crate::demo::page(&s.models),
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
    } else if path == "/" {
        "demo"
    } else {
        "status"
    };
    let response = next.run(req).await;
    s.metrics
        .record(endpoint, response.status().as_u16(), started.elapsed());
    response
}

impl AppState {
    /// The state both front ends share, with the batching inference workers started (an error
    /// only when the system refuses a thread).
    pub(crate) fn start(models: Arc<ModelSet>, config: RouteConfig) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(AppState {
            models,
            queue: batcher::start(config.batch)?,
            metrics: Metrics::default(),
            config,
        }))
    }
}

/// The HTTP routes.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(demo_page))
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
        .with_state(state)
}
