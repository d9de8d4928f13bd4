use clap::Args;
use rill_serve::batcher::BatchConfig;
use rill_serve::{ModelSet, ModelSource, ModelStore, ServerConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A model file to serve as version 1 (or use --model-base-path).
    model: Option<PathBuf>,
    /// The name clients use: /v1/models/NAME.
    #[arg(long, default_value = "model")]
    model_name: String,
    /// A folder of numbered version folders (1/, 2/, …), each holding a .rill, .keras or .onnx model; the
    /// newest is served and a newer one is picked up without a restart.
    #[arg(long)]
    model_base_path: Option<PathBuf>,
    /// A TF Serving model config file (protobuf text: model_config_list { config { name,
    /// base_path, model_version_policy, version_labels } }) serving several models; reread
    /// when it changes.
    #[arg(long, conflicts_with_all = ["model", "model_base_path"])]
    model_config_file: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (TF Serving's REST default).
    #[arg(long, default_value_t = 8501)]
    port: u16,
    /// Also serve TF Serving's gRPC API (Predict, GetModelMetadata, GetModelStatus) on this
    /// port; `--grpc-port` alone takes TF Serving's 8500.
    #[arg(long, num_args = 0..=1, default_missing_value = "8500")]
    grpc_port: Option<u16>,
    /// The most samples run as one batch.
    #[arg(long, default_value_t = 64)]
    max_batch_size: usize,
    /// How long a request may wait for others to batch with, in milliseconds.
    #[arg(long, default_value_t = 2)]
    batch_timeout_ms: u64,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Threads answering HTTP (parsing and writing JSON); inference has its own threads.
    #[arg(long, default_value_t = 1)]
    http_threads: usize,
    /// Threads running inference at once on the one shared model (default: the cores).
    #[arg(long)]
    inference_threads: Option<usize>,
    /// The most samples waiting for inference; requests beyond get 503 (retry later).
    #[arg(long, default_value_t = 16_384)]
    max_queued_samples: usize,
    /// The most connections open at once; further ones are closed at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a connection may take to send a request's headers, or sit idle between requests.
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a request's body may take to arrive (408 after).
    #[arg(long, default_value_t = 30)]
    body_timeout_secs: u64,
    /// Seconds requests in flight may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, default_value_t = 10)]
    shutdown_deadline_secs: u64,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("rill serve: shutting down after the requests in flight");
}

pub fn run(a: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let models = match (a.model, a.model_base_path, &a.model_config_file) {
        (None, None, Some(file)) => ModelSet::from_config_file(file)?,
        (Some(f), None, None) => ModelSet::single(Arc::new(ModelStore::open(
            &a.model_name,
            ModelSource::File(f),
        )?)),
        (None, Some(b), None) => ModelSet::single(Arc::new(ModelStore::open(
            &a.model_name,
            ModelSource::BasePath(b),
        )?)),
        _ => {
            return Err("give one of: a model file, --model-base-path, --model-config-file".into())
        }
    };
    let config = ServerConfig {
        batch: BatchConfig {
            max_batch_size: a.max_batch_size.max(1),
            max_wait: Duration::from_millis(a.batch_timeout_ms),
            inference_threads: a
                .inference_threads
                .unwrap_or_else(|| BatchConfig::default().inference_threads)
                .max(1),
            max_queued_samples: a.max_queued_samples.max(1),
        },
        max_body_bytes: a.max_body_bytes,
        header_timeout: Duration::from_secs(a.header_timeout_secs.max(1)),
        body_timeout: Duration::from_secs(a.body_timeout_secs.max(1)),
        max_connections: a.max_connections.max(1),
        shutdown_deadline: Duration::from_secs(a.shutdown_deadline_secs),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.http_threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port))
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", a.host, a.port))?;
        let addr = listener.local_addr()?;
        let grpc = match a.grpc_port {
            Some(port) => {
                let l = tokio::net::TcpListener::bind((a.host.as_str(), port))
                    .await
                    .map_err(|e| format!("cannot listen on {}:{port} for gRPC: {e}", a.host))?;
                println!(
                    "gRPC (TF Serving's PredictionService and ModelService) on {}",
                    l.local_addr()?
                );
                Some(l)
            }
            None => None,
        };
        for store in models.all() {
            println!(
                "Serving '{}' version {} on http://{addr}/v1/models/{}",
                store.name,
                store
                    .served_versions()
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                store.name
            );
        }
        rill_serve::serve_with_grpc(listener, grpc, Arc::new(models), config, shutdown_signal())
            .await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
