//! The worked example against a small shop started here: the example binary
//! runs a short plan and passes, every shopper logs in with an account of its
//! own, orders are followed by their Location, uploads arrive whole, 429s are
//! accepted, the checkout is timed, the sale the setup opened is closed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Shop {
    logins: Mutex<Vec<String>>,
    orders: AtomicU64,
    uploads: AtomicU64,
    deals: AtomicU64,
    logouts: AtomicU64,
    closed: Mutex<Vec<u64>>,
}

type S = State<Arc<Shop>>;

fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer tok-"))
}

fn app(shop: Arc<Shop>) -> Router {
    Router::new()
        .route(
            "/sales",
            post(|| async { (StatusCode::CREATED, Json(json!({"id": 7}))) }),
        )
        .route(
            "/sales/{id}",
            delete(|State(s): S, Path(id): Path<u64>| async move {
                s.closed.lock().unwrap().push(id);
                StatusCode::OK
            }),
        )
        .route(
            "/login",
            post(|State(s): S, body: String| async move {
                let fields: Vec<(String, String)> = body
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.replace("%40", "@")))
                    .collect();
                let get = |k: &str| {
                    fields
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let (email, password) = (get("email"), get("password"));
                let n = email
                    .trim_start_matches("shopper")
                    .split('@')
                    .next()
                    .unwrap_or("")
                    .to_string();
                if password != format!("secret{n}") {
                    return (StatusCode::UNAUTHORIZED, Json(json!({}))).into_response();
                }
                s.logins.lock().unwrap().push(email.clone());
                Json(json!({"token": format!("tok-{n}")})).into_response()
            }),
        )
        .route(
            "/orders",
            post(
                |State(s): S, h: HeaderMap, Json(o): Json<Value>| async move {
                    if !authorized(&h) || o["sale"] != 7 {
                        return StatusCode::FORBIDDEN.into_response();
                    }
                    let id = s.orders.fetch_add(1, Ordering::SeqCst) + 1;
                    (
                        StatusCode::CREATED,
                        [("location", format!("/orders/{id}"))],
                        "",
                    )
                        .into_response()
                },
            ),
        )
        .route(
            "/orders/{id}",
            get(|h: HeaderMap| async move {
                if authorized(&h) {
                    Json(json!({"state": "open"})).into_response()
                } else {
                    StatusCode::FORBIDDEN.into_response()
                }
            }),
        )
        .route(
            "/uploads",
            post(|State(s): S, body: String| async move {
                if body.matches("receipt line").count() == 2000 && body.contains("name=\"kind\"") {
                    s.uploads.fetch_add(1, Ordering::SeqCst);
                    StatusCode::CREATED
                } else {
                    StatusCode::BAD_REQUEST
                }
            }),
        )
        .route(
            "/deals",
            get(|State(s): S| async move {
                if s.deals.fetch_add(1, Ordering::SeqCst) % 3 == 0 {
                    (StatusCode::TOO_MANY_REQUESTS, "slow down")
                } else {
                    (StatusCode::OK, "deals")
                }
            }),
        )
        .route(
            "/logout",
            post(|State(s): S| async move {
                s.logouts.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }),
        )
        .with_state(shop)
}

fn serve(shop: Arc<Shop>) -> String {
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
            axum::serve(listener, app(shop)).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

#[test]
fn the_worked_example_runs_its_whole_flow_and_passes() {
    let shop = Arc::new(Shop::default());
    let url = serve(shop.clone());
    let out = std::env::temp_dir().join(format!("loadgen-example-flows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_flows"))
        .args([
            "run",
            "plan:5,0s;5,4s",
            "--host",
            &url,
            "--headless",
            "--out",
        ])
        .arg(&out)
        .args([
            "--threshold",
            "count(orders_created)>0",
            "--threshold",
            "p99<2s for FLOW checkout",
            "--threshold",
            "error-rate<1%",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        o.status
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let logins = shop.logins.lock().unwrap().clone();
    let distinct: BTreeSet<_> = logins.iter().collect();
    assert_eq!(
        (logins.len(), distinct.len()),
        (5, 5),
        "an account each: {logins:?}"
    );
    assert!(shop.orders.load(Ordering::SeqCst) > 0);
    assert_eq!(
        shop.uploads.load(Ordering::SeqCst),
        shop.orders.load(Ordering::SeqCst)
    );
    assert_eq!(
        shop.logouts.load(Ordering::SeqCst),
        5,
        "each shopper logged out"
    );
    assert_eq!(
        *shop.closed.lock().unwrap(),
        [7],
        "the teardown closed the setup's sale"
    );
    let rows = s["endpoints"].as_array().unwrap();
    let find = |m: &str, n: &str| {
        rows.iter()
            .find(|r| r["method"] == m && r["name"] == n)
            .unwrap_or_else(|| panic!("no {m} {n}"))
    };
    assert!(find("FLOW", "checkout")["requests"].as_u64().unwrap() > 0);
    let deals = find("GET", "/deals");
    assert_eq!(deals["failures"], 0);
    assert!(deals["statuses"]["429"].as_u64().unwrap() > 0, "{deals}");
}

/// Kills the process on drop, so a failed assertion leaves nothing running.
struct Running(Option<std::process::Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn flows(args: &[&str]) -> Running {
    Running(Some(
        std::process::Command::new(env!("CARGO_BIN_EXE_flows"))
            .args(args)
            .env("LOADGEN_TOKEN", "t0ken")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    ))
}

/// Waits for the process: its exit code and what it said on stderr.
fn finish(mut p: Running) -> (Option<i32>, String) {
    let o = p.0.take().unwrap().wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The accounts feeder (200 rows, each once) on two worker processes: 80
/// shoppers, 40 a worker; one worker is killed after its shoppers logged in,
/// and the other takes all 80 (they start again and log in again). Striped
/// by worker, the survivor would have had 100 rows for 120 logins and the run
/// would have stopped for want of rows while the lost worker's stripe lay
/// unused; dealt by the manager, every login gets a row of its own, and the
/// manager dealt exactly the rows the shop saw.
#[test]
fn a_distributed_run_deals_each_account_once_and_a_lost_workers_unasked_rows_go_on() {
    let shop = Arc::new(Shop::default());
    let url = serve(shop.clone());
    let out = std::env::temp_dir().join(format!("loadgen-example-dealt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let manager = flows(&[
        "manager",
        "plan:80,1s;80,10s",
        "--expect-workers",
        "2",
        "--bind",
        &bind,
        "--host",
        &url,
        "--out",
        out.to_str().unwrap(),
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let survivor = flows(&["worker", "--manager", &bind]);
    let mut doomed = flows(&["worker", "--manager", &bind]);
    std::thread::sleep(std::time::Duration::from_secs(5));
    let before = shop.logins.lock().unwrap().len();
    assert_eq!(before, 80, "every shopper logged in before the kill");
    doomed.0.as_mut().unwrap().kill().unwrap(); // SIGKILL
    let (code, said) = finish(manager);
    let (_, survivor_said) = finish(survivor);
    assert_eq!(code, Some(0), "{said}\n{survivor_said}");
    assert!(said.contains("lost"), "{said}");
    assert!(
        !survivor_said.contains("no rows left"),
        "the survivor never ran out: {survivor_said}"
    );
    let logins = shop.logins.lock().unwrap().clone();
    let distinct: BTreeSet<_> = logins.iter().collect();
    assert_eq!(
        distinct.len(),
        logins.len(),
        "no account used twice: {logins:?}"
    );
    assert_eq!(logins.len(), 160, "40 + 40, then the survivor's 80 again");
    assert!(
        said.contains(&format!(
            "feeder 'accounts': {} of 200 rows dealt",
            logins.len()
        )),
        "the manager dealt exactly the rows used: {said}"
    );
}
