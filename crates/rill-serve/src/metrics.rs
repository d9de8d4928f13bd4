//! Prometheus metrics: requests by endpoint and status, and a latency histogram.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters shared by every request handler.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one request.
    pub fn record(&self, endpoint: &str, status: u16, latency: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests
            .entry((endpoint.to_string(), status))
            .or_default() += 1;
        let s = latency.as_secs_f64();
        for (b, bound) in m.buckets.iter_mut().zip(BUCKETS) {
            if s <= bound {
                *b += 1;
            }
        }
        m.count += 1;
        m.sum += s;
    }

    /// The Prometheus text exposition, with the state of the inference queue.
    pub fn render(&self, queue: &crate::batcher::Queue) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = String::from("# HELP rill_requests_total Requests by endpoint and HTTP status.\n# TYPE rill_requests_total counter\n");
        for ((endpoint, status), n) in &m.requests {
            s += &format!(
                "rill_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}\n"
            );
        }
        s += "# HELP rill_request_latency_seconds Time from request to response.\n# TYPE rill_request_latency_seconds histogram\n";
        for (b, bound) in m.buckets.iter().zip(BUCKETS) {
            s += &format!("rill_request_latency_seconds_bucket{{le=\"{bound}\"}} {b}\n");
        }
        s += &format!(
            "rill_request_latency_seconds_bucket{{le=\"+Inf\"}} {}\n",
            m.count
        );
        s += &format!(
            "rill_request_latency_seconds_sum {}\nrill_request_latency_seconds_count {}\n",
            m.sum, m.count
        );
        s += &format!(
            "# HELP rill_queued_samples Samples waiting for an inference worker.\n# TYPE rill_queued_samples gauge\nrill_queued_samples {}\n",
            queue.queued_samples()
        );
        s += &format!(
            "# HELP rill_abandoned_jobs_total Jobs dropped unrun because their client had gone.\n# TYPE rill_abandoned_jobs_total counter\nrill_abandoned_jobs_total {}\n",
            queue.abandoned_jobs()
        );
        s
    }
}
