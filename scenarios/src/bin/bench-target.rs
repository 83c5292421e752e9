//! A fast loopback HTTP target for generator benchmarks: `GET /` answers "ok",
//! `GET /count` how many `/` requests it has served. Usage: bench-target ADDR

use axum::routing::get;
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn main() -> std::process::ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".into());
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let app = Router::new()
        .route(
            "/",
            get(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                async { "ok" }
            }),
        )
        .route(
            "/count",
            get(move || async move { served.load(Ordering::Relaxed).to_string() }),
        );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bench-target: cannot bind {addr}: {e}");
                return std::process::ExitCode::from(3);
            }
        };
        let _ = axum::serve(listener, app).await;
        std::process::ExitCode::SUCCESS
    })
}
