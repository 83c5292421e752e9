//! `target-service`: the library API that loadgen's bundled scenarios load-test.
//!
//! - [`config`]: typed configuration from the environment (`Config::from_env`) and,
//!   with the `etcd` feature, from etcd, watched; the live knobs.
//! - [`state`]: `AppState`, the handles every handler shares.
//! - [`store`]: persistence behind the `Store` trait (SQLite embedded, PostgreSQL).
//! - [`cache`]: cache-aside for book reads (in-process or Redis).
//! - [`events`]: the transactional outbox relay and notification consumer.
//! - [`resilience`]: circuit breakers, bulkheads, retries.
//! - [`http`]: the accept loop (header-read timeout), load shedding, rate limiting,
//!   metrics middleware.
//! - [`routes`]: the API, one module per resource.
//!
//! [`app`] builds the router (tests drive it in-process); [`serve`] runs it all.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod extract;
pub mod http;
pub mod model;
pub mod resilience;
pub mod routes;
pub mod state;
pub mod store;

mod server;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::Router;

pub use config::Config;
pub use error::ApiError;
pub use server::serve;
pub use state::AppState;

/// The whole HTTP API. Health and metrics sit outside shedding and rate limiting so
/// operators and load balancers can still see an overloaded instance. A request's
/// body is read whole before it counts in flight. Every answer the
/// router gives, 404, 405 and 414 included, is the JSON error shape.
pub fn app(state: AppState) -> Router {
    let wrong_method = || async { ApiError::MethodNotAllowed };
    let api = Router::new()
        .merge(routes::books::router())
        .merge(routes::members::router())
        .merge(routes::loans::router())
        .merge(routes::admin::router())
        .method_not_allowed_fallback(wrong_method)
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), http::layers::rate_limit))
        .layer(from_fn_with_state(state.clone(), http::layers::shed_load))
        // Outside the shedding: a body still on its way holds no in-flight slot.
        .layer(from_fn_with_state(state.clone(), http::body::read_body));
    Router::new()
        .merge(routes::health::router().method_not_allowed_fallback(wrong_method))
        .merge(api)
        .layer(from_fn_with_state(state.clone(), http::layers::limit_uri))
        .layer(from_fn_with_state(state.clone(), http::layers::track))
        .with_state(state)
}
