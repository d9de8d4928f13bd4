//! Accepting connections without trusting clients: a limit on open connections, a deadline
//! for each request's headers (which also bounds how long a kept-alive connection may sit
//! idle), a deadline for its body (in the routes), and a deadline for the graceful shutdown.
//! A rescan of the models' version folders runs beside it.

use crate::batcher::BatchConfig;
use crate::models::ModelSet;
use crate::routes::{router, AppState, RouteConfig};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Request batching and the bound on queued work.
    pub batch: BatchConfig,
    /// The largest request body accepted, in bytes (larger ones get 413).
    pub max_body_bytes: usize,
    /// How often the base paths are rescanned for versions.
    pub poll_interval: Duration,
    /// The longest a connection may take to send a request's headers, counted from when the
    /// server starts waiting for them — so also the longest a kept-alive connection sits idle.
    pub header_timeout: Duration,
    /// The longest a request's body may take to arrive once its headers have (408 after).
    pub body_timeout: Duration,
    /// The most connections open at once (within the process's open-file limit); further
    /// clients wait in the listen backlog until one ends, so that clients that hold
    /// connections open cannot use up the process's file descriptors.
    pub max_connections: usize,
    /// After the shutdown signal, how long requests in flight may take to finish before the
    /// server stops regardless.
    pub shutdown_deadline: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            batch: BatchConfig::default(),
            max_body_bytes: 16 << 20,
            poll_interval: Duration::from_secs(1),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_deadline: Duration::from_secs(10),
        }
    }
}

/// The process's limit on open files, where the system says (Linux's `/proc/self/limits`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// `wanted` connections, or fewer when the process could not open that many files: past that,
/// accepting fails and new clients wait in the backlog instead of being told at once.
fn connection_limit(wanted: usize) -> usize {
    // Model files, the listeners and the runtime need descriptors too.
    const RESERVED: usize = 32;
    match open_file_limit() {
        Some(files) if wanted + RESERVED > files => {
            let limit = files.saturating_sub(RESERVED).max(1);
            eprintln!(
                "rill serve: at most {limit} connections, not {wanted}: the process may open {files} files (ulimit -n)"
            );
            limit
        }
        _ => wanted.max(1),
    }
}

/// Rescans the models every `interval`, logging what changed.
fn watch_versions(models: Arc<ModelSet>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let m = models.clone();
            match tokio::task::spawn_blocking(move || m.refresh()).await {
                Ok(events) => events.iter().for_each(|e| eprintln!("rill serve: {e}")),
                Err(e) => eprintln!("rill serve: rescanning the models failed: {e}"),
            }
        }
    })
}

/// Serves `models` over REST on `listener` until `shutdown` completes, then lets requests in
/// flight finish for at most `config.shutdown_deadline`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    models: Arc<ModelSet>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_grpc(listener, None, models, config, shutdown).await
}

/// [`serve`], with TF Serving's gRPC API on `grpc` too when given: the same models, queue and
/// workers behind both.
pub async fn serve_with_grpc(
    listener: tokio::net::TcpListener,
    grpc: Option<tokio::net::TcpListener>,
    models: Arc<ModelSet>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::start(
        models.clone(),
        RouteConfig {
            batch: config.batch,
            max_body_bytes: config.max_body_bytes,
            body_timeout: config.body_timeout,
        },
    )?;
    let app = router(state.clone());
    // One shutdown signal, seen by both front ends.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|&s| s).await;
    };
    // Each API may hold `max_connections`, within what the process may open.
    let share = if grpc.is_some() { 2 } else { 1 };
    let max_connections = connection_limit(config.max_connections.saturating_mul(share)) / share;
    let grpc_task = grpc.map(|l| {
        let stop = stopped(stop_rx.clone());
        let served =
            crate::grpc::serve(l, state.clone(), max_connections, config.body_timeout, stop);
        let task = tokio::spawn(async move {
            if let Err(e) = served.await {
                eprintln!("rill serve: gRPC: {e}");
            }
        });
        // Calls in flight get the same deadline as REST's, counted from the signal.
        let (abort, stop, deadline) = (
            task.abort_handle(),
            stopped(stop_rx.clone()),
            config.shutdown_deadline,
        );
        tokio::spawn(async move {
            stop.await;
            tokio::time::sleep(deadline).await;
            abort.abort();
        });
        task
    });
    let shutdown = stopped(stop_rx);
    let watcher = watch_versions(models, config.poll_interval);
    // HTTP/1 only, as TF Serving's REST API: a connection is read as HTTP/1 from its first
    // byte, so the header timeout holds from the moment it opens (protocol detection would
    // wait for a first byte with no deadline).
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut full_logged = false;
    tokio::pin!(shutdown);
    loop {
        // At the limit, stop accepting: new clients wait in the listen backlog, first come first
        // served, until a connection ends — at the latest when a stalled one hits its header
        // timeout. (Closing them at once instead makes clients reconnect in a storm: measured,
        // 1,300 req/s instead of 13,000 under a slow-client attack at the limit.)
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if !full_logged {
                    eprintln!(
                        "rill serve: {max_connections} connections open, the limit; new ones wait until some end"
                    );
                    full_logged = true;
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or similar: wait for connections to close
                    // rather than spin.
                    eprintln!("rill serve: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        full_logged &= slots.available_permits() == 0;
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are clients that misbehaved or left: nothing to report.
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    watcher.abort();
    // REST and gRPC drain at once, so the deadline holds for the whole server.
    let rest = tokio::time::timeout(config.shutdown_deadline, graceful.shutdown());
    let grpc = async {
        if let Some(task) = grpc_task {
            let _ = task.await;
        }
    };
    let (rest, ()) = tokio::join!(rest, grpc);
    if rest.is_err() {
        eprintln!(
            "rill serve: connections still open after {} s; stopping anyway",
            config.shutdown_deadline.as_secs_f64()
        );
    }
    Ok(())
}
