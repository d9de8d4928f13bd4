use crate::batcher::{self, BatchConfig, Job};
use crate::metrics::Metrics;
use crate::store::{ModelStore, Servable, TensorSpec};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rill_core::Tensor;
use serde_json::{json, Value};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Request batching.
    pub batch: BatchConfig,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How often the base path is checked for a newer version.
    pub poll_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            batch: BatchConfig::default(),
            max_body_bytes: 16 << 20,
            poll_interval: Duration::from_secs(1),
        }
    }
}

struct AppState {
    store: Arc<ModelStore>,
    jobs: Mutex<Sender<Job>>,
    metrics: Metrics,
    max_body_bytes: usize,
}

type Shared = Arc<AppState>;

/// A JSON reply with TF Serving's error shape for failures.
struct Reply(StatusCode, Value);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "application/json")],
            self.1.to_string(),
        )
            .into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply(status, json!({"error": message.into()}))
}

fn not_found(name: &str, version: Option<u64>) -> Reply {
    let spec = match version {
        Some(v) => format!("Specific({name}, {v})"),
        None => format!("Latest({name})"),
    };
    error(
        StatusCode::NOT_FOUND,
        format!("Servable not found for request: {spec}"),
    )
}

/// Splits TF Serving's `name:predict` path segment.
fn split_action(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (segment, None),
    }
}

/// The served version, if `name` and `version` (when given) name it.
fn check_target(
    state: &AppState,
    name: &str,
    version: Option<&str>,
) -> Result<Arc<Servable>, Reply> {
    let v = match version {
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                format!("version '{v}' is not a number"),
            )
        })?),
        None => None,
    };
    let current = state.store.current();
    if name != state.store.name || v.is_some_and(|v| v != current.version) {
        return Err(not_found(name, v));
    }
    Ok(current)
}

fn status_body(version: u64) -> Value {
    json!({"model_version_status": [{"version": version.to_string(), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
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

fn metadata_body(state: &AppState, s: &Servable) -> Value {
    json!({
        "model_spec": {"name": state.store.name, "signature_name": "", "version": s.version.to_string()},
        "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": signature(&s.inputs),
            "outputs": signature(&s.outputs),
            "method_name": "tensorflow/serving/predict"
        }}}}
    })
}

/// The values of `t`, `[n, ...]`, as nested JSON lists, one per sample.
fn samples(t: &Tensor) -> Vec<Value> {
    let per: usize = t.shape()[1..].iter().product::<usize>().max(1);
    let inner = &t.shape()[1..];
    let values = t.to_f64_vec();
    fn nest(v: &[f64], shape: &[usize]) -> Value {
        match shape.split_first() {
            None => json!(v[0]),
            Some((&d, rest)) => {
                let step = rest.iter().product::<usize>().max(1);
                Value::Array(
                    (0..d)
                        .map(|i| nest(&v[i * step..(i + 1) * step], rest))
                        .collect(),
                )
            }
        }
    }
    values.chunks(per).map(|c| nest(c, inner)).collect()
}

/// TF Serving's answer: one output is a plain list (of samples, or the batch); several are
/// keyed by output name — per sample in the row format, per batch in the columnar one.
fn answer(outputs: &[TensorSpec], tensors: &[Tensor], row_format: bool) -> Value {
    let per_output: Vec<Vec<Value>> = tensors.iter().map(samples).collect();
    match (per_output.len(), row_format) {
        (1, true) => json!({"predictions": per_output[0]}),
        (1, false) => json!({"outputs": per_output[0]}),
        (_, true) => {
            let rows = per_output.first().map_or(0, Vec::len);
            let mut columns: Vec<_> = per_output.into_iter().map(Vec::into_iter).collect();
            let predictions: Vec<Value> = (0..rows)
                .map(|_| {
                    outputs
                        .iter()
                        .zip(columns.iter_mut())
                        .map(|(spec, col)| (spec.name.clone(), col.next().unwrap_or(Value::Null)))
                        .collect::<serde_json::Map<_, _>>()
                        .into()
                })
                .collect();
            json!({"predictions": predictions})
        }
        (_, false) => {
            let named: serde_json::Map<_, _> = outputs
                .iter()
                .zip(per_output)
                .map(|(spec, col)| (spec.name.clone(), Value::Array(col)))
                .collect();
            json!({"outputs": named})
        }
    }
}

async fn predict(state: &AppState, name: &str, version: Option<&str>, body: Body) -> Reply {
    let servable = match check_target(state, name, version) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bytes = match to_bytes(body, state.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the request body is larger than {} bytes",
                    state.max_body_bytes
                ),
            )
        }
    };
    let parsed = match crate::request::parse(&bytes, &servable.inputs) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let (rows, row_format) = (parsed.rows, parsed.row_format);
    let mut inputs = Vec::with_capacity(parsed.data.len());
    for (data, spec) in parsed.data.into_iter().zip(&servable.inputs) {
        let mut shape = vec![rows];
        shape.extend_from_slice(&spec.shape);
        match Tensor::from_vec(data, &shape) {
            Ok(t) => inputs.push(t),
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sent = state
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(Job { inputs, reply: tx });
    if sent.is_err() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the inference worker has stopped",
        );
    }
    match rx.await {
        // Named by the version that ran them, which a reload may have made newer.
        Ok(Ok((outs, ran_on))) => Reply(StatusCode::OK, answer(&ran_on.outputs, &outs, row_format)),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the inference worker dropped the request",
        ),
    }
}

async fn model_get(State(s): State<Shared>, Path(segment): Path<String>) -> Reply {
    let (name, action) = split_action(&segment);
    if action.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            format!("use POST for ':{}'", action.unwrap_or("")),
        );
    }
    match check_target(&s, name, None) {
        Ok(v) => Reply(StatusCode::OK, status_body(v.version)),
        Err(r) => r,
    }
}

async fn model_post(
    State(s): State<Shared>,
    Path(segment): Path<String>,
    req: Request<Body>,
) -> Reply {
    match split_action(&segment) {
        (name, Some("predict")) => predict(&s, name, None, req.into_body()).await,
        (_, other) => error(
            StatusCode::NOT_FOUND,
            format!("unknown method {other:?}; this server answers ':predict'"),
        ),
    }
}

async fn version_get(
    State(s): State<Shared>,
    Path((name, segment)): Path<(String, String)>,
) -> Reply {
    let (v, action) = split_action(&segment);
    if action.is_some() {
        return error(StatusCode::BAD_REQUEST, "use POST for ':predict'");
    }
    match check_target(&s, &name, Some(v)) {
        Ok(sv) => Reply(StatusCode::OK, status_body(sv.version)),
        Err(r) => r,
    }
}

async fn version_post(
    State(s): State<Shared>,
    Path((name, segment)): Path<(String, String)>,
    req: Request<Body>,
) -> Reply {
    match split_action(&segment) {
        (v, Some("predict")) => predict(&s, &name, Some(v), req.into_body()).await,
        (_, other) => error(
            StatusCode::NOT_FOUND,
            format!("unknown method {other:?}; this server answers ':predict'"),
        ),
    }
}

async fn metadata(State(s): State<Shared>, Path(name): Path<String>) -> Reply {
    match check_target(&s, &name, None) {
        Ok(sv) => Reply(StatusCode::OK, metadata_body(&s, &sv)),
        Err(r) => r,
    }
}

async fn version_metadata(
    State(s): State<Shared>,
    Path((name, v)): Path<(String, String)>,
) -> Reply {
    match check_target(&s, &name, Some(&v)) {
        Ok(sv) => Reply(StatusCode::OK, metadata_body(&s, &sv)),
        Err(r) => r,
    }
}

async fn prometheus(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
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

/// The HTTP routes for `store`, with its batching inference workers started (an error only
/// when the system refuses a thread).
pub fn router(store: Arc<ModelStore>, config: &ServerConfig) -> std::io::Result<Router> {
    let jobs = batcher::start(store.clone(), config.batch)?;
    let state: Shared = Arc::new(AppState {
        store,
        jobs: Mutex::new(jobs),
        metrics: Metrics::default(),
        max_body_bytes: config.max_body_bytes,
    });
    Ok(Router::new()
        .route("/v1/models/{segment}", get(model_get).post(model_post))
        .route("/v1/models/{name}/metadata", get(metadata))
        .route(
            "/v1/models/{name}/versions/{segment}",
            get(version_get).post(version_post),
        )
        .route(
            "/v1/models/{name}/versions/{v}/metadata",
            get(version_metadata),
        )
        .route("/monitoring/prometheus/metrics", get(prometheus))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such endpoint; see /v1/models/{name}",
            )
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state))
}

/// Serves `store` on `listener` until `shutdown` completes (then finishes requests in flight),
/// checking for newer versions every `config.poll_interval`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<ModelStore>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let poller = store.clone();
    let interval = config.poll_interval;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            let s = poller.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.refresh()).await {
                eprintln!(
                    "rill serve: a new version could not be loaded, still serving the old one: {e}"
                );
            }
        }
    });
    axum::serve(listener, router(store, &config)?)
        .with_graceful_shutdown(shutdown)
        .await
}
