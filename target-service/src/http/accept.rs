//! The accept loop: HTTP/1.1 connections with a header-read deadline, drained on shutdown.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// Serves `app` on every accepted connection until `shutdown` fires, then stops
/// accepting and returns once each open connection has finished its request in
/// flight. A connection that takes longer than `header_read_timeout` to send a
/// whole request head (counted from its opening or the end of its previous
/// response, so this also bounds an idle keep-alive) is closed: without it, slow or
/// half-sent heads held sockets, and file descriptors, for as long as clients liked.
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (app, stop) = (app.clone(), shutdown.clone());
                connections.spawn(serve_connection(
                    stream,
                    peer,
                    app,
                    header_read_timeout,
                    stop,
                ));
            }
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to close.
                tracing::error!(error = %e, "accept failed; pausing");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// One connection's requests, each carrying the peer address for the rate limiter.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let service = service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            // Finish the request in flight (if any), then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection closed with an error");
    }
}

/// Accept errors that concern one connection only (it went away before we took it).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
