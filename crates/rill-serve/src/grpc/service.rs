//! TF Serving's `PredictionService` (Predict, GetModelMetadata) and `ModelService`
//! (GetModelStatus) over gRPC, on the same models, queue and workers as the REST API.

// Handlers return tonic's `Status`, which gRPC answers are made of; boxing it would only add an
// allocation to every error, once per call.
#![allow(clippy::result_large_err)]

use super::proto::*;
use super::tensors::{read_input, signature_shape, write_output};
use crate::inference::{self, Refusal};
use crate::routes::AppState;
use crate::store::{Servable, TensorSpec};
use std::collections::HashMap;
use std::sync::Arc;
use tonic::codegen::{http, BoxFuture, Context, Poll, Service};
use tonic::{Request, Response, Status};

fn resolve(state: &AppState, spec: &Option<ModelSpec>) -> Result<Arc<Servable>, Status> {
    let spec = spec
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("missing model_spec"))?;
    if !matches!(spec.signature_name.as_str(), "" | "serving_default") {
        return Err(Status::invalid_argument(format!(
            "unknown signature_name '{}'; this model has 'serving_default'",
            spec.signature_name
        )));
    }
    let store = state.models.get(&spec.name).ok_or_else(|| {
        Status::not_found(format!(
            "Servable not found for request: Latest({})",
            spec.name
        ))
    })?;
    let (found, what) = match (&spec.version, spec.version_label.as_str()) {
        (Some(v), _) => (
            u64::try_from(v.value).ok().and_then(|v| store.version(v)),
            format!("Specific({}, {})", spec.name, v.value),
        ),
        (None, "") => (store.latest(), format!("Latest({})", spec.name)),
        (None, label) => (store.label(label), format!("Label({}, {label})", spec.name)),
    };
    found.ok_or_else(|| Status::not_found(format!("Servable not found for request: {what}")))
}

fn answered_by(name: &str, s: &Servable) -> ModelSpec {
    ModelSpec {
        name: name.to_string(),
        version: Some(Int64Value {
            value: s.version as i64,
        }),
        signature_name: "serving_default".into(),
        version_label: String::new(),
    }
}

async fn predict(state: Arc<AppState>, req: PredictRequest) -> Result<PredictResponse, Status> {
    let servable = resolve(&state, &req.model_spec)?;
    let mut inputs = req.inputs;
    // A one-input model takes its one tensor under any name, as its REST form takes a plain list.
    if servable.inputs.len() == 1 && inputs.len() == 1 {
        let only = inputs.drain().next().map(|(_, t)| t);
        inputs.extend(only.map(|t| (servable.inputs[0].name.clone(), t)));
    }
    let mut rows = None;
    let mut data = Vec::with_capacity(servable.inputs.len());
    for spec in &servable.inputs {
        let t = inputs.remove(&spec.name).ok_or_else(|| {
            Status::invalid_argument(format!(
                "missing the input '{}'; the model's inputs are {}",
                spec.name,
                names(&servable.inputs)
            ))
        })?;
        let (n, values) = read_input(&t, spec).map_err(Status::invalid_argument)?;
        if rows.is_some_and(|r| r != n) {
            return Err(Status::invalid_argument(
                "every input needs the same number of samples",
            ));
        }
        rows = Some(n);
        data.push(values);
    }
    if let Some(extra) = inputs.keys().next() {
        return Err(Status::invalid_argument(format!(
            "the model has no input named '{extra}'; its inputs are {}",
            names(&servable.inputs)
        )));
    }
    let rows = rows.unwrap_or(0);
    if rows == 0 {
        return Err(Status::invalid_argument("no samples in the request"));
    }
    for f in &req.output_filter {
        if !servable.outputs.iter().any(|o| &o.name == f) {
            return Err(Status::invalid_argument(format!(
                "output_filter names '{f}'; the model's outputs are {}",
                names(&servable.outputs)
            )));
        }
    }
    let max_batch = state.config.batch.max_batch_size;
    let outputs = inference::run(&state.queue, &servable, data, rows, max_batch)
        .await
        .map_err(|r| match r {
            Refusal::BadInput(e) => Status::invalid_argument(e),
            Refusal::Busy => {
                Status::unavailable("the server is busy: too many samples are waiting; retry later")
            }
            Refusal::Internal(e) => Status::internal(e),
        })?;
    let name = req.model_spec.map(|s| s.name).unwrap_or_default();
    let outputs = servable
        .outputs
        .iter()
        .zip(&outputs)
        .filter(|(spec, _)| req.output_filter.is_empty() || req.output_filter.contains(&spec.name))
        .map(|(spec, t)| (spec.name.clone(), write_output(t)))
        .collect();
    Ok(PredictResponse {
        outputs,
        model_spec: Some(answered_by(&name, &servable)),
    })
}

fn names(specs: &[TensorSpec]) -> String {
    specs
        .iter()
        .map(|s| format!("'{}'", s.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn infos(specs: &[TensorSpec]) -> HashMap<String, TensorInfo> {
    specs
        .iter()
        .map(|s| {
            let info = TensorInfo {
                name: s.name.clone(),
                dtype: if s.text { dtype::STRING } else { dtype::FLOAT },
                tensor_shape: Some(signature_shape(&s.shape)),
            };
            (s.name.clone(), info)
        })
        .collect()
}

fn metadata(
    state: &AppState,
    req: GetModelMetadataRequest,
) -> Result<GetModelMetadataResponse, Status> {
    let servable = resolve(state, &req.model_spec)?;
    if let Some(other) = req.metadata_field.iter().find(|f| *f != "signature_def") {
        return Err(Status::invalid_argument(format!(
            "unknown metadata_field '{other}'; this server has 'signature_def'"
        )));
    }
    if req.metadata_field.is_empty() {
        return Err(Status::invalid_argument(
            "metadata_field must name 'signature_def'",
        ));
    }
    let signature = SignatureDef {
        inputs: infos(&servable.inputs),
        outputs: infos(&servable.outputs),
        method_name: "tensorflow/serving/predict".into(),
    };
    let map = SignatureDefMap {
        signature_def: HashMap::from([("serving_default".to_string(), signature)]),
    };
    let packed = Any {
        type_url: "type.googleapis.com/tensorflow.serving.SignatureDefMap".into(),
        value: prost::Message::encode_to_vec(&map),
    };
    let name = req.model_spec.map(|s| s.name).unwrap_or_default();
    Ok(GetModelMetadataResponse {
        model_spec: Some(answered_by(&name, &servable)),
        metadata: HashMap::from([("signature_def".to_string(), packed)]),
    })
}

fn status(state: &AppState, req: GetModelStatusRequest) -> Result<GetModelStatusResponse, Status> {
    let spec = req
        .model_spec
        .ok_or_else(|| Status::invalid_argument("missing model_spec"))?;
    let store = state.models.get(&spec.name).ok_or_else(|| {
        Status::not_found(format!(
            "Servable not found for request: Latest({})",
            spec.name
        ))
    })?;
    let wanted = match (&spec.version, spec.version_label.as_str()) {
        (Some(v), _) => Some(v.value),
        (None, "") => None,
        (None, label) => Some(
            store
                .label(label)
                .ok_or_else(|| Status::not_found(format!("no version is labelled '{label}'")))?
                .version as i64,
        ),
    };
    let statuses: Vec<ModelVersionStatus> = store
        .statuses()
        .into_iter()
        .filter(|s| wanted.is_none_or(|w| w == s.version as i64))
        .map(|s| ModelVersionStatus {
            version: s.version as i64,
            state: if s.state == "AVAILABLE" {
                state::AVAILABLE
            } else {
                state::END
            },
            status: Some(StatusProto {
                error_code: if s.error.is_empty() { 0 } else { 2 },
                error_message: s.error,
            }),
        })
        .collect();
    if statuses.is_empty() {
        return Err(Status::not_found(format!(
            "Servable not found for request: Specific({}, {})",
            spec.name,
            wanted.unwrap_or_default()
        )));
    }
    Ok(GetModelStatusResponse {
        model_version_status: statuses,
    })
}

fn predict_boxed(s: Arc<AppState>, r: PredictRequest) -> BoxFuture<PredictResponse, Status> {
    Box::pin(predict(s, r))
}

fn metadata_boxed(
    s: Arc<AppState>,
    r: GetModelMetadataRequest,
) -> BoxFuture<GetModelMetadataResponse, Status> {
    Box::pin(async move { metadata(&s, r) })
}

fn status_boxed(
    s: Arc<AppState>,
    r: GetModelStatusRequest,
) -> BoxFuture<GetModelStatusResponse, Status> {
    Box::pin(async move { status(&s, r) })
}

/// One unary method: a function of the state and the decoded request.
struct Unary<F>(Arc<AppState>, F);

impl<M, R, F> tonic::server::UnaryService<M> for Unary<F>
where
    M: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<AppState>, M) -> BoxFuture<R, Status> + Clone + Send + 'static,
{
    type Response = R;
    type Future = BoxFuture<Response<R>, Status>;
    fn call(&mut self, request: Request<M>) -> Self::Future {
        let fut = (self.1)(self.0.clone(), request.into_inner());
        Box::pin(async move { fut.await.map(Response::new) })
    }
}

/// A gRPC service answering TF Serving's methods by path: `TfServing<false>` is registered as
/// `PredictionService`, `TfServing<true>` as `ModelService`; both answer every method.
#[derive(Clone)]
pub(crate) struct TfServing<const MODEL_SERVICE: bool> {
    pub state: Arc<AppState>,
}

impl tonic::server::NamedService for TfServing<false> {
    const NAME: &'static str = "tensorflow.serving.PredictionService";
}

impl tonic::server::NamedService for TfServing<true> {
    const NAME: &'static str = "tensorflow.serving.ModelService";
}

/// The protobuf codec for one method, refusing requests larger than `limit` bytes.
fn codec<E, D>(limit: usize) -> tonic::server::Grpc<tonic::codec::ProstCodec<E, D>>
where
    E: prost::Message + Send + 'static,
    D: prost::Message + Default + Send + 'static,
{
    tonic::server::Grpc::new(tonic::codec::ProstCodec::default()).max_decoding_message_size(limit)
}

fn unimplemented(path: &str) -> http::Response<tonic::body::Body> {
    Status::unimplemented(format!(
        "{path} is not served; this server answers Predict, GetModelMetadata and GetModelStatus"
    ))
    .into_http()
}

impl<B, const M: bool> Service<http::Request<B>> for TfServing<M>
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let state = self.state.clone();
        let limit = state.config.max_body_bytes;
        let path = req.uri().path().to_string();
        match path.as_str() {
            "/tensorflow.serving.PredictionService/Predict" => {
                Box::pin(
                    async move { Ok(codec(limit).unary(Unary(state, predict_boxed), req).await) },
                )
            }
            "/tensorflow.serving.PredictionService/GetModelMetadata" => {
                Box::pin(
                    async move { Ok(codec(limit).unary(Unary(state, metadata_boxed), req).await) },
                )
            }
            "/tensorflow.serving.ModelService/GetModelStatus" => {
                Box::pin(
                    async move { Ok(codec(limit).unary(Unary(state, status_boxed), req).await) },
                )
            }
            other => {
                let response = unimplemented(other);
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
