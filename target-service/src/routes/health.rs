//! Operational endpoints: liveness, readiness, dependency health, breakers, metrics, OpenAPI.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

const OPENAPI: &str = include_str!("../openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/health/live",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/health/ready", get(ready))
        .route("/health", get(health))
        .route("/health/circuit-breakers", get(breakers))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
}

async fn database_ok(state: &AppState) -> bool {
    matches!(
        tokio::time::timeout(state.config.db_timeout, state.store.ping()).await,
        Ok(Ok(()))
    )
}

/// 200 when this instance can serve traffic (the database answers), else 503. With
/// etcd, the details say how the watch stands and which changes await a restart.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let (status, mut body) = if database_ok(&state).await {
        (StatusCode::OK, json!({ "status": "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unavailable", "database": "down" }),
        )
    };
    if state.config.etcd_url.is_some() {
        let pending: Vec<_> = state
            .knobs
            .pending()
            .into_iter()
            .map(|k| json!({ "key": k.key, "env": k.env, "value": k.value, "pending_value": k.pending_value }))
            .collect();
        body["config"] = json!({ "etcd": state.knobs.etcd_status(), "pending_restart": pending });
    }
    (status, Json(body))
}

/// Every dependency's state; 503 only when the database is down (cache and broker degrade).
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let db = database_ok(&state).await;
    let cache = state.cache.healthy().await;
    let pending = state.store.outbox_pending().await.ok();
    let status = if db {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if !db { "down" } else if cache { "ok" } else { "degraded" },
        "database": { "backend": state.store.backend(), "ok": db },
        "cache": { "backend": state.cache.backend(), "ok": cache },
        "events": { "backend": state.publisher.backend(), "outbox_pending": pending },
        "in_flight": state.in_flight.current(),
    });
    (status, Json(body))
}

async fn breakers(State(state): State<AppState>) -> impl IntoResponse {
    let list: Vec<_> = state
        .guards
        .all()
        .iter()
        .map(|g| {
            let s = g.breaker.status();
            json!({
                "name": s.name,
                "state": s.state,
                "consecutive_failures": s.consecutive_failures,
                "times_opened": s.times_opened,
                "late_excused": s.late_excused,
                "bulkhead_in_use": g.bulkhead.in_use(),
                "bulkhead_capacity": g.bulkhead.capacity(),
            })
        })
        .collect();
    Json(json!({ "breakers": list }))
}

/// The Prometheus text exposition (format 0.0.4), rendered on each scrape.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(
            state.in_flight.current(),
            &state.guards.all(),
            state.store.pool_stats(),
        ),
    )
}
