//! Request batching: each of `inference_threads` workers takes the jobs waiting in the shared
//! queue — up to a maximum number of samples of one model version, waiting at most a few
//! milliseconds for more — runs them as one batch (no lock: layers run through `&self`) and
//! sends each its rows back. Under load, batches grow and the cost per request falls.
//!
//! Work is bounded: a request is split into jobs of at most `max_batch_size` samples, the
//! queue holds at most `max_queued_samples` (a request that does not fit is refused whole, for
//! a 503), a job whose client has gone is dropped unrun, and a panic in a model is caught and
//! answered as an internal error while the worker goes on.

use crate::store::{panic_message, Servable};
use rill_core::Tensor;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Why a job got no outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The samples do not fit the model (answered 400).
    BadInput(String),
    /// The model failed in a way no input should cause (answered 500, and logged).
    Internal(String),
}

/// What a job gets back: a batch per model output, or why not.
pub type Answer = Result<Vec<Tensor>, Failure>;

/// Some samples of one request for one model version, and where to send their outputs.
pub struct Job {
    /// The version the request was routed to, which runs it even if a newer one appears.
    pub servable: Arc<Servable>,
    /// `[k, ...input shape]` per model input, f32, in the model's input order.
    pub inputs: Vec<Tensor>,
    /// Receives `[k, ...output shape]` per model output.
    pub reply: tokio::sync::oneshot::Sender<Answer>,
}

impl Job {
    /// The samples in this job.
    fn rows(&self) -> usize {
        self.inputs.first().map_or(0, |t| t.shape()[0])
    }
}

/// How batches are formed and how much work may wait.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// The most samples run together; larger requests are split into jobs of this size.
    pub max_batch_size: usize,
    /// The longest the first job of a batch waits for company.
    pub max_wait: Duration,
    /// Workers running batches at once.
    pub inference_threads: usize,
    /// The most samples waiting in the queue; a request that would pass it is refused.
    pub max_queued_samples: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch_size: 64,
            max_wait: Duration::from_millis(2),
            inference_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_queued_samples: 16_384,
        }
    }
}

/// The queue is full: the request was not taken (answered 503, to be retried later).
#[derive(Debug)]
pub struct Busy;

#[derive(Default)]
struct Waiting {
    jobs: VecDeque<Job>,
    samples: usize,
}

/// The jobs waiting for a worker, bounded by samples.
pub struct Queue {
    waiting: Mutex<Waiting>,
    arrived: Condvar,
    config: BatchConfig,
    /// Jobs dropped because their client had gone.
    abandoned: std::sync::atomic::AtomicU64,
}

impl Queue {
    /// Queues all of a request's jobs, or none when they would pass the bound.
    pub fn push(&self, jobs: Vec<Job>) -> Result<(), Busy> {
        let samples: usize = jobs.iter().map(Job::rows).sum();
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        // An empty queue takes any one request, so that no single request is refused forever.
        if w.samples > 0 && w.samples + samples > self.config.max_queued_samples {
            return Err(Busy);
        }
        w.samples += samples;
        w.jobs.extend(jobs);
        drop(w);
        self.arrived.notify_all();
        Ok(())
    }

    /// Samples waiting now.
    pub fn queued_samples(&self) -> usize {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .samples
    }

    /// Jobs dropped unrun because their client had disconnected.
    pub fn abandoned_jobs(&self) -> u64 {
        self.abandoned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Removes the job at `at`; `None` (counted) when its client has gone.
    fn take(&self, w: &mut Waiting, at: usize) -> Option<Job> {
        let job = w.jobs.remove(at)?;
        w.samples -= job.rows();
        if job.reply.is_closed() {
            self.abandoned
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return None;
        }
        Some(job)
    }

    /// Takes the next batch: the first job waits as long as it must, then jobs of the same
    /// version join while they fit, until the batch is full or the wait is over.
    fn next_batch(&self) -> Vec<Job> {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let first = loop {
            if w.jobs.is_empty() {
                w = self.arrived.wait(w).unwrap_or_else(|e| e.into_inner());
            } else if let Some(j) = self.take(&mut w, 0) {
                break j;
            }
        };
        let servable = first.servable.clone();
        let max = self.config.max_batch_size;
        let mut rows = first.rows();
        let mut jobs = vec![first];
        let deadline = Instant::now() + self.config.max_wait;
        while rows < max {
            let fits = w
                .jobs
                .iter()
                .position(|j| Arc::ptr_eq(&j.servable, &servable) && rows + j.rows() <= max);
            if let Some(at) = fits {
                if let Some(j) = self.take(&mut w, at) {
                    rows += j.rows();
                    jobs.push(j);
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            w = self
                .arrived
                .wait_timeout(w, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        jobs
    }
}

impl Queue {
    fn new(config: BatchConfig) -> Queue {
        Queue {
            waiting: Mutex::new(Waiting::default()),
            arrived: Condvar::new(),
            config,
            abandoned: Default::default(),
        }
    }
}

/// Starts the inference workers; jobs pushed to the returned queue are batched and answered.
pub fn start(config: BatchConfig) -> std::io::Result<Arc<Queue>> {
    let queue = Arc::new(Queue::new(config));
    for i in 0..config.inference_threads.max(1) {
        let q = queue.clone();
        std::thread::Builder::new()
            .name(format!("rill-inference-{i}"))
            .spawn(move || run(&q))?;
    }
    Ok(queue)
}

fn run(queue: &Queue) {
    let _ftz = rill_core::FlushDenormals::everywhere();
    loop {
        let jobs = queue.next_batch();
        let servable = jobs[0].servable.clone();
        // A model that panics fails this batch, not the worker.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_batch(&servable.model, &jobs)
        }))
        .unwrap_or_else(|p| {
            let m = panic_message(p.as_ref());
            eprintln!(
                "rill serve: version {} panicked on a batch of {} requests: {m}",
                servable.version,
                jobs.len()
            );
            Err(Failure::Internal(format!("the model failed: {m}")))
        });
        let mut start = 0;
        for job in jobs {
            let k = job.rows();
            let answer = match &result {
                Ok(outs) => outs
                    .iter()
                    .map(|out| out.slice(0, start, start + k).map(|t| t.contiguous()))
                    .collect::<rill_core::Result<Vec<_>>>()
                    .map_err(|e| Failure::Internal(e.to_string())),
                Err(e) => Err(e.clone()),
            };
            start += k;
            // A client that went away no longer waits for its answer.
            let _ = job.reply.send(answer);
        }
    }
}

/// Every job's samples joined per input and run as one batch; one tensor per model output.
fn run_batch(model: &rill_nn::Model, jobs: &[Job]) -> Result<Vec<Tensor>, Failure> {
    let n_inputs = jobs.first().map_or(0, |j| j.inputs.len());
    let mut inputs = Vec::with_capacity(n_inputs);
    for i in 0..n_inputs {
        let parts = jobs.iter().map(|j| j.inputs[i].clone()).collect::<Vec<_>>();
        inputs.push(Tensor::concat(&parts, 0).map_err(|e| Failure::Internal(e.to_string()))?);
    }
    let data = match inputs.len() {
        1 => rill_core::Data::One(inputs.remove(0)),
        _ => rill_core::Data::List(inputs),
    };
    model
        .predict_on_batch_outputs(data)
        .map_err(|e| Failure::BadInput(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TensorSpec;
    use rill_nn::prelude::*;

    fn servable(version: u64) -> Arc<Servable> {
        let model = Sequential::new(vec![Box::new(Dense::new(2)) as Box<dyn Layer>])
            .with_input_shape(&[3])
            .unwrap();
        let spec = |shape: Vec<usize>| TensorSpec {
            name: "x".into(),
            shape,
            text: false,
        };
        Arc::new(Servable {
            version,
            model,
            inputs: vec![spec(vec![3])],
            outputs: vec![spec(vec![2])],
            class_names: None,
        })
    }

    fn job(s: &Arc<Servable>, rows: usize) -> (Job, tokio::sync::oneshot::Receiver<Answer>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let x = Tensor::zeros(&[rows, 3], rill_core::DType::F32);
        let j = Job {
            servable: s.clone(),
            inputs: vec![x],
            reply: tx,
        };
        (j, rx)
    }

    fn config(max_batch_size: usize, max_queued_samples: usize) -> BatchConfig {
        BatchConfig {
            max_batch_size,
            max_wait: Duration::ZERO,
            inference_threads: 1,
            max_queued_samples,
        }
    }

    #[test]
    fn a_full_queue_refuses_whole_requests_but_an_empty_one_takes_any() {
        let q = Queue::new(config(8, 10));
        let s = servable(1);
        let (big, _r1) = job(&s, 25);
        assert!(
            q.push(vec![big]).is_ok(),
            "an empty queue takes a request of any size"
        );
        let (small, _r2) = job(&s, 1);
        assert!(q.push(vec![small]).is_err());
        assert_eq!(q.queued_samples(), 25);
        q.next_batch();
        let (a, _ra) = job(&s, 6);
        let (b, _rb) = job(&s, 3);
        let (c, _rc) = job(&s, 3);
        q.push(vec![a]).unwrap();
        assert!(
            q.push(vec![b, c]).is_err(),
            "6 more samples do not fit: none is taken"
        );
        assert_eq!(q.queued_samples(), 6);
    }

    #[test]
    fn jobs_whose_client_left_are_dropped_unrun() {
        let q = Queue::new(config(8, 100));
        let s = servable(1);
        let (gone, rx) = job(&s, 2);
        let (live, _keep) = job(&s, 3);
        q.push(vec![gone, live]).unwrap();
        drop(rx);
        let batch = q.next_batch();
        assert_eq!(batch.iter().map(Job::rows).collect::<Vec<_>>(), [3]);
        assert_eq!(q.abandoned_jobs(), 1);
    }

    #[test]
    fn a_batch_holds_one_version_and_at_most_max_batch_size_samples() {
        let q = Queue::new(config(8, 100));
        let (v1, v2) = (servable(1), servable(2));
        let mut keep = Vec::new();
        for (s, rows) in [(&v1, 3), (&v2, 4), (&v1, 4), (&v1, 6), (&v1, 1)] {
            let (j, rx) = job(s, rows);
            keep.push(rx);
            q.push(vec![j]).unwrap();
        }
        let batch = |q: &Queue| -> (u64, Vec<usize>) {
            let b = q.next_batch();
            (b[0].servable.version, b.iter().map(Job::rows).collect())
        };
        assert_eq!(batch(&q), (1, vec![3, 4, 1]));
        assert_eq!(batch(&q), (2, vec![4]));
        assert_eq!(batch(&q), (1, vec![6]));
    }

    #[test]
    fn a_job_that_does_not_fit_its_model_fails_alone_and_the_worker_goes_on() {
        let q = start(config(8, 100)).unwrap();
        let s = servable(1);
        // A job whose input does not match its model: a clean error, 400.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let bad = Job {
            servable: s.clone(),
            inputs: vec![Tensor::zeros(&[1, 5], rill_core::DType::F32)],
            reply: tx,
        };
        q.push(vec![bad]).unwrap();
        assert!(matches!(
            rx.blocking_recv().unwrap(),
            Err(Failure::BadInput(_))
        ));
        let (good, rx) = job(&s, 2);
        q.push(vec![good]).unwrap();
        assert_eq!(rx.blocking_recv().unwrap().unwrap()[0].shape(), [2, 2]);
    }
}
