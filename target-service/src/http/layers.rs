//! The middleware that reads the service's state, in one place: load
//! shedding and the deadline, the URI limit, the per-client rate limit and
//! request metrics. The types they use (`InFlight`, `RateLimiter`, `Metrics`)
//! live beside their own logic and know nothing of `AppState`, so the state
//! that holds them and the layers that read it import each other nowhere.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::rate_limit::{peer_key, ClientKey};
use crate::auth::bearer;
use crate::error::ApiError;
use crate::state::AppState;

/// Sheds load (503) when too many requests are in flight, then applies the deadline.
///
/// The handler runs to its end in a task of its own: a request cut off by its
/// deadline, or by a client that went away, gets its answer (or none) at once,
/// but its database work is never cancelled half way. A transaction dropped
/// between its BEGIN and the answer to it leaves the pooled connection's
/// transaction open, PgBouncer's server connection idle in transaction, and
/// the next user of that connection inside someone else's transaction. The
/// request stays counted in flight until its work ends.
pub async fn shed_load(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(guard) = state.in_flight.try_enter() else {
        state.metrics.shed();
        return ApiError::Overloaded {
            retry_after_secs: 1,
        }
        .into_response();
    };
    let mut work = tokio::spawn(
        async move {
            let _guard = guard;
            next.run(req).await
        }
        .in_current_span(),
    );
    match tokio::time::timeout(state.config.request_timeout, &mut work).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            ApiError::Internal(anyhow::anyhow!("request handler failed: {e}")).into_response()
        }
        Err(_) => ApiError::Unavailable("request deadline exceeded".into()).into_response(),
    }
}

/// Refuses a request target longer than `MAX_URI_BYTES` with a JSON 414. (Past 64 KiB
/// hyper's parser answers 414 itself, with an empty body, before any handler runs.)
pub async fn limit_uri(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > state.config.max_uri_bytes {
        return ApiError::UriTooLong(state.config.max_uri_bytes).into_response();
    }
    next.run(req).await
}

/// Per-client rate limit (429 + Retry-After). A token that verifies is kept in the
/// request's extensions, so the `Caller` extractor does not check it twice.
pub async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if state.knobs.current().rate_limit_per_sec == 0 {
        return next.run(req).await;
    }
    let claims = bearer(req.headers()).and_then(|token| state.tokens.verify(token));
    let client = match claims {
        Some(claims) => {
            req.extensions_mut().insert(claims);
            ClientKey::Member(claims.member_id)
        }
        None => peer_key(&req, state.config.trust_proxy_headers),
    };
    if let Err(retry_after_secs) = state.limiter.check(client) {
        state.metrics.rate_limited();
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    next.run(req).await
}

/// Records every request's route, status and latency.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    // Handlers' logs (including an error's detail) land inside this request's span.
    let span = tracing::info_span!("request", %method, %route);
    let response = next.run(req).instrument(span).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
