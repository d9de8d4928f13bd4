//! Running one request's samples on the version it was routed to, through the bounded queue:
//! shared by the REST and gRPC front ends, which differ only in how samples arrive and how
//! outputs leave.

use crate::batcher::{Answer, Failure, Job, Queue};
use crate::store::Servable;
use rill_core::Tensor;
use std::sync::Arc;

/// One model input's values in a request, row-major: numbers, or text for an input of text.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers, as f32.
    Numbers(Vec<f32>),
    /// Raw text, for an input of a model that starts with `TextVectorization`.
    Text(Vec<String>),
}

impl Values {
    /// Empty values of the kind `spec` takes, with room for `capacity`.
    pub(crate) fn for_input(spec: &crate::store::TensorSpec, capacity: usize) -> Values {
        if spec.text {
            Values::Text(Vec::with_capacity(capacity))
        } else {
            Values::Numbers(Vec::with_capacity(capacity))
        }
    }
    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Values::Numbers(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Rows `start..start + k` of `per` values each as a tensor of `shape`, taking the whole
    /// buffer without a copy when the rows are all of it.
    fn rows(
        &mut self,
        start: usize,
        k: usize,
        per: usize,
        whole: bool,
        shape: &[usize],
    ) -> rill_core::Result<Tensor> {
        let flat = [k, per];
        let t = match self {
            Values::Numbers(v) if whole => Tensor::from_vec(std::mem::take(v), &flat),
            Values::Numbers(v) => {
                Tensor::from_vec(v[start * per..(start + k) * per].to_vec(), &flat)
            }
            Values::Text(v) if whole => Tensor::from_strings(std::mem::take(v), &flat),
            Values::Text(v) => {
                Tensor::from_strings(v[start * per..(start + k) * per].to_vec(), &flat)
            }
        }?;
        t.reshape(shape)
    }
}

/// Why a request got no outputs, in the terms both front ends answer with.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The samples do not fit the model (HTTP 400, gRPC INVALID_ARGUMENT).
    BadInput(String),
    /// The queue is full (HTTP 503, gRPC UNAVAILABLE).
    Busy,
    /// The model or the server failed (HTTP 500, gRPC INTERNAL).
    Internal(String),
}

/// Runs `rows` samples (`data`: per model input, row-major values checked against its shape up
/// to size-1 axes) in jobs of at most `max_batch_size` samples; one tensor per model output.
/// If the caller stops waiting (its client left), the jobs still queued are dropped unrun.
pub(crate) async fn run(
    queue: &Queue,
    servable: &Arc<Servable>,
    mut data: Vec<Values>,
    rows: usize,
    max_batch_size: usize,
) -> Result<Vec<Tensor>, Refusal> {
    if rows == 0 || data.len() != servable.inputs.len() {
        return Err(Refusal::BadInput(
            "no samples, or not one tensor per model input".into(),
        ));
    }
    let chunk = max_batch_size.max(1);
    let (mut jobs, mut replies) = (Vec::new(), Vec::new());
    for start in (0..rows).step_by(chunk) {
        let k = chunk.min(rows - start);
        let mut inputs = Vec::with_capacity(data.len());
        for (values, spec) in data.iter_mut().zip(&servable.inputs) {
            let per = values.len() / rows;
            let mut shape = vec![k];
            shape.extend_from_slice(&spec.shape);
            // A request that is one job (most are) hands its values over without a copy.
            let t = values
                .rows(start, k, per, k == rows, &shape)
                .map_err(|e| Refusal::BadInput(e.to_string()))?;
            inputs.push(t);
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<Answer>();
        jobs.push(Job {
            servable: servable.clone(),
            inputs,
            reply: tx,
        });
        replies.push(rx);
    }
    queue.push(jobs).map_err(|_| Refusal::Busy)?;
    let mut parts: Vec<Vec<Tensor>> = Vec::with_capacity(replies.len());
    for rx in replies {
        match rx.await {
            Ok(Ok(outs)) => parts.push(outs),
            Ok(Err(Failure::BadInput(e))) => return Err(Refusal::BadInput(e)),
            Ok(Err(Failure::Internal(e))) => return Err(Refusal::Internal(e)),
            Err(_) => {
                return Err(Refusal::Internal(
                    "the inference worker dropped the request".into(),
                ))
            }
        }
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    (0..parts[0].len())
        .map(|k| {
            let pieces: Vec<Tensor> = parts.iter().map(|p| p[k].clone()).collect();
            Tensor::concat(&pieces, 0)
        })
        .collect::<rill_core::Result<Vec<_>>>()
        .map_err(|e| Refusal::Internal(e.to_string()))
}
