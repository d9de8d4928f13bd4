//! Request batching: each of `inference_threads` workers takes the requests waiting in the
//! shared queue — up to a maximum number of samples, waiting at most a few milliseconds for
//! more — runs them as one batch on the shared model (no lock: layers run through `&self`) and
//! sends each its rows back. Under load, batches grow and the cost per request falls.

use crate::store::{ModelStore, Servable};
use rill_core::Tensor;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a request gets back: a batch per model output and the version that computed them
/// (whose output names label them), or an error message.
pub type Answer = Result<(Vec<Tensor>, Arc<Servable>), String>;

/// One request's samples and where to send its outputs.
pub struct Job {
    /// `[k, ...input shape]` per model input, f32, in the model's input order.
    pub inputs: Vec<Tensor>,
    /// Receives `[k, ...output shape]` per model output.
    pub reply: tokio::sync::oneshot::Sender<Answer>,
}

impl Job {
    /// The samples in this request.
    fn rows(&self) -> usize {
        self.inputs.first().map_or(0, |t| t.shape()[0])
    }
}

/// How batches are formed.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// The most samples run together.
    pub max_batch_size: usize,
    /// The longest the first request of a batch waits for company.
    pub max_wait: Duration,
    /// Workers running batches at once on the one shared model.
    pub inference_threads: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch_size: 64,
            max_wait: Duration::from_millis(2),
            inference_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Starts the inference workers; jobs sent to the returned queue are batched and answered.
pub fn start(store: Arc<ModelStore>, config: BatchConfig) -> std::io::Result<Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..config.inference_threads.max(1) {
        let (store, rx) = (store.clone(), rx.clone());
        std::thread::Builder::new()
            .name(format!("rill-inference-{i}"))
            .spawn(move || run(store, config, rx))?;
    }
    Ok(tx)
}

/// Takes the next batch of jobs: the first waits as long as it must, the rest until the batch
/// is full or the wait is over. The queue is held only while gathering, never while running.
fn next_batch(config: &BatchConfig, rx: &Mutex<Receiver<Job>>) -> Option<Vec<Job>> {
    let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
    let first = rx.recv().ok()?;
    let mut rows = first.rows();
    let mut jobs = vec![first];
    let deadline = Instant::now() + config.max_wait;
    while rows < config.max_batch_size {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(j) => {
                rows += j.rows();
                jobs.push(j);
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(jobs)
}

fn run(store: Arc<ModelStore>, config: BatchConfig, rx: Arc<Mutex<Receiver<Job>>>) {
    let _ftz = rill_core::FlushDenormals::everywhere();
    while let Some(jobs) = next_batch(&config, &rx) {
        let servable = store.current();
        let result = run_batch(&servable.model, &jobs);
        let mut start = 0;
        for job in jobs {
            let k = job.rows();
            let answer = match &result {
                Ok(outs) => outs
                    .iter()
                    .map(|out| out.slice(0, start, start + k).map(|t| t.contiguous()))
                    .collect::<rill_core::Result<Vec<_>>>()
                    .map(|outs| (outs, servable.clone()))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            };
            start += k;
            // A client that went away no longer waits for its answer.
            let _ = job.reply.send(answer);
        }
    }
}

/// Every job's samples joined per input and run as one batch; one tensor per model output.
fn run_batch(model: &rill_nn::Model, jobs: &[Job]) -> Result<Vec<Tensor>, String> {
    let n_inputs = jobs.first().map_or(0, |j| j.inputs.len());
    let mut inputs = Vec::with_capacity(n_inputs);
    for i in 0..n_inputs {
        let parts = jobs
            .iter()
            .map(|j| j.inputs.get(i).cloned().ok_or("a request lacks an input"))
            .collect::<Result<Vec<_>, _>>()?;
        inputs.push(Tensor::concat(&parts, 0).map_err(|e| e.to_string())?);
    }
    let data = match inputs.len() {
        1 => rill_core::Data::One(inputs.remove(0)),
        _ => rill_core::Data::List(inputs),
    };
    model
        .predict_on_batch_outputs(data)
        .map_err(|e| e.to_string())
}
