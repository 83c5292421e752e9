//! Test helpers: the real `loadgen` binary, and small HTTP servers with known behaviour.

#![allow(dead_code)]

pub mod counting;
pub mod dist;
pub mod peer;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn loadgen() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.env_remove("LOADGEN_HOST");
    cmd
}

pub fn run(args: &[&str]) -> Output {
    loadgen()
        .args(args)
        .output()
        .expect("the loadgen binary runs")
}

/// `loadgen run SHAPE --host HOST --path / --profile none --out OUT`: what
/// every end-to-end run against a test server says, so a test shows only its
/// own flags (`.args(["--think", "100ms"])`) before it runs (`output`).
pub fn run_against(shape: &str, host: &str, out: &Path) -> Command {
    let mut cmd = loadgen();
    cmd.args(["run", shape, "--host", host, "--path", "/"])
        .args(["--profile", "none", "--out", out.to_str().unwrap()]);
    cmd
}

/// Runs `cmd` to its end and keeps what it printed.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("the loadgen binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh, empty folder under the target dir for one test's run output.
pub fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub fn summary(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json written");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// What a test server saw: the latency it served to each request, in
/// microseconds, and the connections it accepted.
#[derive(Clone, Default)]
pub struct Served {
    pub latencies_us: Arc<Mutex<Vec<u64>>>,
    pub in_flight: Arc<AtomicU64>,
    pub accepted: Arc<AtomicU64>,
}

/// A server whose request i takes exactly 100 + (i mod 201) ms: a known,
/// uniform latency distribution the test can compare loadgen's figures with.
pub fn known_latency_app(served: Served) -> Router {
    let counter = Arc::new(AtomicU64::new(0));
    Router::new()
        .route(
            "/",
            get(move |State(s): State<Served>| {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    let ms = 100 + i % 201;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    s.latencies_us.lock().unwrap().push(ms * 1_000);
                    "ok"
                }
            }),
        )
        .with_state(served)
}

/// A server that answers at once and counts what it served (latency 0).
pub fn known_latency_app_fast(served: Served) -> Router {
    Router::new()
        .route(
            "/",
            get(|State(s): State<Served>| async move {
                s.latencies_us.lock().unwrap().push(0);
                "ok"
            }),
        )
        .with_state(served)
}

/// A server that answers in 5 ms but fails with 503 once more than `limit` requests are in flight.
pub fn overloadable_app(served: Served, limit: u64) -> Router {
    Router::new()
        .route(
            "/",
            get(move |State(s): State<Served>| async move {
                let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
                s.in_flight.fetch_sub(1, Ordering::SeqCst);
                s.latencies_us.lock().unwrap().push(5_000);
                if now > limit {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (StatusCode::OK, "ok")
                }
            }),
        )
        // Its requests in flight, as a service's Prometheus metrics say it.
        .route(
            "/metrics",
            get(|State(s): State<Served>| async move {
                format!(
                    "# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight {}\n",
                    s.in_flight.load(Ordering::SeqCst)
                )
            }),
        )
        .with_state(served)
}

/// Serves `app` on a free loopback port from a background thread; returns its URL.
pub fn serve(app: Router) -> String {
    serve_counting(app, Arc::new(AtomicU64::new(0)))
}

/// As `serve`, counting the connections accepted into `accepted`.
pub fn serve_counting(app: Router, accepted: Arc<AtomicU64>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let listener = listener.tap_io(move |_| {
                accepted.fetch_add(1, Ordering::SeqCst);
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// The exact percentile of served values (nearest rank), in microseconds.
pub fn exact_percentile(values: &[u64], p: f64) -> u64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank - 1]
}
