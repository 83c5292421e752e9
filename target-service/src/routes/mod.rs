//! The API's routes, one module per resource, and the guarded database calls they share.

pub mod books;
pub mod health;
pub mod loans;
pub mod members;

use std::future::Future;

use crate::error::ApiError;
use crate::resilience::retry::retry;
use crate::resilience::GuardError;
use crate::state::AppState;
use crate::store::{StoreError, StoreResult};

/// An idempotent read: guarded, and retried with backoff on infrastructure failures.
pub async fn db_read<T, F, Fut>(state: &AppState, op: F) -> Result<T, ApiError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let retryable = |e: &GuardError<StoreError>| match e {
        GuardError::Inner(inner) => inner.is_infra(),
        GuardError::Timeout(_) => true,
        GuardError::Open(_) | GuardError::Full(_) => false,
    };
    let cfg = &state.config;
    retry(cfg.retry_attempts.max(1), cfg.retry_base, retryable, || {
        state.guards.db.call(StoreError::is_infra, op())
    })
    .await
    .map_err(ApiError::from)
}

/// A write: guarded, never retried here (the client retries with its idempotency key).
pub async fn db_write<T>(
    state: &AppState,
    fut: impl Future<Output = StoreResult<T>>,
) -> Result<T, ApiError> {
    state
        .guards
        .db
        .call(StoreError::is_infra, fut)
        .await
        .map_err(ApiError::from)
}
