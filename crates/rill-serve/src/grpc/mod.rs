//! TF Serving's gRPC API (`--grpc-port`, TF Serving's default 8500): `PredictionService/Predict`,
//! `PredictionService/GetModelMetadata` and `ModelService/GetModelStatus`, with the messages
//! written here ([`proto`]) and served by tonic over HTTP/2.

pub mod proto;
mod service;
mod tensors;

use crate::routes::AppState;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection holding one of the limited connection slots until it closes.
struct Limited {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Limited {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Limited {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

/// Serves the gRPC API on `listener` until `shutdown` completes, with at most
/// `max_connections` connections (further clients wait to be accepted) and every call bounded
/// by `timeout`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    max_connections: usize,
    timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let (incoming, acceptor) = accept_within_limit(listener, slots);
    let served = tonic::transport::Server::builder()
        .timeout(timeout)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .max_concurrent_streams(Some(256))
        .add_service(service::TfServing::<false> {
            state: state.clone(),
        })
        .add_service(service::TfServing::<true> { state })
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    // Stop accepting (and close the port) once serving is over.
    acceptor.abort();
    served
}

/// Accepted connections within the limit; beyond it, clients wait in the listen backlog.
fn accept_within_limit(
    listener: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
) -> (
    impl tonic::codegen::tokio_stream::Stream<Item = std::io::Result<Limited>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Limited>>(16);
    let acceptor = tokio::spawn(async move {
        loop {
            // At the limit, new clients wait in the listen backlog (see the REST listener).
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    eprintln!("rill serve: gRPC: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            if tx
                .send(Ok(Limited {
                    stream,
                    _slot: slot,
                }))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    (
        tonic::codegen::tokio_stream::wrappers::ReceiverStream::new(rx),
        acceptor,
    )
}
