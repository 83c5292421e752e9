//! The small HTTP server behind the run's own pages (the Prometheus exporter,
//! the control API): at most `MAX_CONNECTIONS` at once, each sending its
//! request head in time, so no peer can hold the run's file descriptors or
//! its exit.

use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The most connections served at once; more are closed as they come.
pub const MAX_CONNECTIONS: usize = 32;
/// A connection must send a whole request head within this (after opening, or
/// after its previous answer), else it is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// At the end, connections still open get this long, then are closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Accepts until `stop`, at most `MAX_CONNECTIONS` at once; then gives the
/// connections open `SHUTDOWN_GRACE` to finish and closes the rest.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, stop: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of descriptors, or a peer gone before it was taken: the run goes on.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                use tower::ServiceExt as _;
                app.clone().oneshot(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = builder.serve_connection(io, service).await;
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}
