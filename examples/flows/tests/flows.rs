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
