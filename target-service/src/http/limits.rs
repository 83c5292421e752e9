//! Overload protection: in-flight load shedding, the request deadline, the URI length limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;
use crate::state::AppState;

/// Counts requests being served; refuses new ones beyond the limit.
#[derive(Clone, Debug)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    /// Shared by the clones, so a live change reaches every one.
    max: Arc<AtomicUsize>,
}

/// Decrements the in-flight count when the request finishes (or is dropped).
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight {
            count: Arc::new(AtomicUsize::new(0)),
            max: Arc::new(AtomicUsize::new(max.max(1))),
        }
    }

    /// A new limit (`MAX_IN_FLIGHT` changed live); requests already in keep running.
    pub fn set_max(&self, max: usize) {
        self.max.store(max.max(1), Ordering::Release);
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::Acquire)
    }

    pub fn try_enter(&self) -> Option<InFlightGuard> {
        let now = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = InFlightGuard(self.count.clone());
        (now <= self.max()).then_some(guard)
    }

    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_sheds_beyond_max() {
        let f = InFlight::new(1);
        let g = f.try_enter();
        assert!(g.is_some());
        assert!(f.try_enter().is_none());
        drop(g);
        assert_eq!(f.current(), 0);
        assert!(f.try_enter().is_some());
        let clone = f.clone();
        clone.set_max(2);
        let (a, b) = (f.try_enter(), f.try_enter());
        assert!(
            a.is_some() && b.is_some(),
            "the clone's new limit is everyone's"
        );
        assert!(f.try_enter().is_none());
    }
}
