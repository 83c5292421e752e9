//! `GET /admin/config` (librarians): each knob's value in effect, where it came from
//! (`default`, `env`, `etcd`), or `pending` with the value awaiting a restart.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::Librarian;
use crate::config::keys::redact_url;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/config", get(config))
}

async fn config(_: Librarian, State(state): State<AppState>) -> Json<Value> {
    let started = state.knobs.started();
    Json(json!({
        "etcd": {
            "status": state.knobs.etcd_status(),
            "url": started.etcd_url.as_deref().map(redact_url),
            "prefix": started.etcd_prefix,
        },
        "precedence": ["default", "etcd", "env"],
        "knobs": state.knobs.report(),
    }))
}
