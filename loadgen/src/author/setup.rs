//! A run's setup, as its author writes it: once before any user starts, its
//! result handed to every user (`vu.setup_data()`); `setup!` wraps an
//! `async fn(Vu<'_>) -> Result<serde_json::Value, TaskError>`.

use super::task_error::TaskError;
use super::vu::Vu;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A run's setup: what it returns is handed to every user (`vu.setup_data()`).
pub type SetupFn = Arc<
    dyn for<'a> Fn(
            Vu<'a>,
        ) -> Pin<
            Box<dyn Future<Output = Result<serde_json::Value, TaskError>> + Send + 'a>,
        > + Send
        + Sync,
>;

/// Wraps a setup function (`setup!` does it for an `async fn`).
pub fn setup_fn<F>(f: F) -> SetupFn
where
    F: for<'a> Fn(
            Vu<'a>,
        ) -> Pin<
            Box<dyn Future<Output = Result<serde_json::Value, TaskError>> + Send + 'a>,
        > + Send
        + Sync
        + 'static,
{
    Arc::new(f)
}
