//! The API's routes, one module per resource, and the guarded database calls they share.

pub mod admin;
pub mod books;
pub mod health;
pub mod loans;
pub mod members;

use std::future::Future;
use std::sync::Arc;

use crate::error::ApiError;
use crate::resilience::retry::retry;
use crate::resilience::GuardError;
use crate::state::AppState;
use crate::store::{Store, StoreError, StoreResult};

/// An idempotent read: guarded, and retried with backoff on infrastructure
/// failures. Each attempt runs to its end in a task of its own, as a write
/// does (every store call is a transaction; see [`db_write`]).
pub async fn db_read<T, F, Fut>(state: &AppState, op: F) -> Result<T, ApiError>
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = StoreResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let retryable = |e: &GuardError<StoreError>| match e {
        GuardError::Inner(inner) => inner.is_infra(),
        GuardError::Timeout(_) => true,
        GuardError::Open(_) | GuardError::Full(_) => false,
    };
    let live = state.knobs.current();
    let (attempts, base) = (live.retry_attempts.max(1), live.retry_base);
    retry(attempts, base, retryable, || {
        let work = op(state.store.clone());
        state
            .guards
            .db
            .call_to_completion(StoreError::is_infra, work)
    })
    .await
    .map_err(ApiError::from)
}

/// A write: guarded, never retried here (the client retries with its idempotency
/// key). `op` gets the store and runs to its end in a task of its own, even past
/// the deadline or when the request is dropped: a transaction is never cut off
/// between its statements (see [`crate::resilience::Guard::call_to_completion`]).
pub async fn db_write<T, F, Fut>(state: &AppState, op: F) -> Result<T, ApiError>
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = StoreResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let work = op(state.store.clone());
    state
        .guards
        .db
        .call_to_completion(StoreError::is_infra, work)
        .await
        .map_err(ApiError::from)
}
