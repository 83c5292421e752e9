//! `--control ADDR`: the run's control API and its web page, on the run's own
//! capped HTTP server. `GET /` is the page, `GET /api/state` the live state
//! (JSON; `?since=SECOND` for the newer seconds only), `POST /api/control` a
//! change (`{"users": 500, "ramp": "30s"}`, `{"action": "pause"}`). Bound off
//! loopback, or with a token set, every request must carry the token
//! (`Authorization: Bearer TOKEN`, or `?token=TOKEN` for the page).

use super::command::from_json;
use super::state::StateBoard;
use super::steering::Steering;
use crate::observe::serve::serve;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The web page: one self-contained file, no network needed.
const PAGE: &str = include_str!("page.html");
/// The largest change request read.
const MAX_BODY: usize = 16 * 1024;

#[derive(Clone)]
struct Shared {
    steering: Steering,
    board: StateBoard,
    /// Required on every request when set.
    token: Option<Arc<str>>,
}

/// The running control server; stopped when dropped.
pub struct ControlServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
    _server: JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ControlServer {
    /// Listens on `addr` now (a taken port is exit 2 before the run starts).
    /// Off loopback a token is required.
    pub async fn bind(
        addr: SocketAddr,
        token: Option<String>,
        steering: Steering,
        board: StateBoard,
    ) -> Result<ControlServer, String> {
        let token = token.filter(|t| !t.is_empty());
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(format!(
                "--control {addr} is reachable from the network: set --control-token (or LOADGEN_CONTROL_TOKEN), or bind 127.0.0.1"
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            format!("--control {addr}: cannot listen there: {e} (pick another port)")
        })?;
        let addr = listener.local_addr().unwrap_or(addr);
        let shared = Shared {
            steering,
            board,
            token: token.map(Arc::from),
        };
        let app = Router::new()
            .route("/", get(page))
            .route("/api/state", get(state))
            .route("/api/control", post(control))
            .with_state(shared);
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, app, stop.clone()));
        Ok(ControlServer {
            addr,
            stop,
            _server: server,
        })
    }
}

#[derive(Deserialize)]
struct Params {
    token: Option<String>,
    since: Option<u64>,
}

/// Whether the request carries the token (or none is needed).
fn allowed(shared: &Shared, headers: &HeaderMap, params: &Params) -> bool {
    let Some(want) = &shared.token else {
        return true;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = bearer.or(params.token.as_deref()).unwrap_or("");
    constant_time_eq(given.as_bytes(), want.as_bytes())
}

/// Compares without stopping at the first difference, so the time taken
/// tells nothing about how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(serde_json::json!({"error": "this control API needs its token: Authorization: Bearer TOKEN (or ?token=TOKEN)"})),
    )
        .into_response()
}

async fn page(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !allowed(&shared, &headers, &params) {
        return refused();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

async fn state(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !allowed(&shared, &headers, &params) {
        return refused();
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(shared.board.json(params.since)),
    )
        .into_response()
}

async fn control(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<Params>,
    body: Bytes,
) -> Response {
    if !allowed(&shared, &headers, &params) {
        return refused();
    }
    let error = |status: StatusCode, why: String| {
        (status, Json(serde_json::json!({"error": why}))).into_response()
    };
    if body.len() > MAX_BODY {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a change is at most {MAX_BODY} bytes"),
        );
    }
    let command = match from_json(&body, shared.steering.model()) {
        Ok(command) => command,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    match shared.steering.apply(&command, "api") {
        Ok(event) => {
            eprintln!(
                "loadgen: control: {} (from {} s)",
                event.what, event.from_secs
            );
            Json(serde_json::json!({"ok": true, "change": event})).into_response()
        }
        Err(why) => error(StatusCode::CONFLICT, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
