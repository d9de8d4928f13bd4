//! `rill serve` in a test: a server on a loopback port on its own thread and runtime, stopped
//! when dropped, and the HTTP client calls the tests make of it.

use rill_serve::{ModelSet, ModelStore, ServerConfig};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running server; stopped (and waited for) when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `models` with `config` on a free loopback port.
    pub fn start(models: ModelSet, config: ServerConfig) -> Server {
        let models = Arc::new(models);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                ready_tx
                    .send(listener.local_addr().expect("an address"))
                    .expect("the test waits");
                rill_serve::serve(listener, models, config, async {
                    let _ = stopped.await;
                })
                .await
                .expect("the server runs");
            });
        });
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the server listens within 10 s");
        Server {
            addr,
            base: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
    /// Serves one model store.
    pub fn start_store(store: ModelStore, config: ServerConfig) -> Server {
        Server::start(ModelSet::single(Arc::new(store)), config)
    }
    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    /// Signals shutdown and waits for the server to return; how long that took.
    pub fn stop(&mut self) -> Duration {
        let started = Instant::now();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("the server thread ends");
        }
        started.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client that returns error statuses as answers and gives up after 20 s.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// `GET url`: the status and the body as JSON (null when it is not JSON).
pub fn get(url: &str) -> (u16, Value) {
    let mut r = agent().get(url).call().expect("the server answers");
    let text = r.body_mut().read_to_string().expect("a body");
    (
        r.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// `POST url` with a JSON body: the status and the body's text (answers may hold NaN, which
/// JSON readers refuse).
pub fn post_text(url: &str, body: &str) -> (u16, String) {
    let mut r = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .expect("the server answers");
    (
        r.status().as_u16(),
        r.body_mut().read_to_string().expect("a body"),
    )
}

/// [`post_text`] with the body as JSON (null when it is not JSON).
pub fn post(url: &str, body: &str) -> (u16, Value) {
    let (status, text) = post_text(url, body);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
