//! Protecting the service from slow or failing dependencies: breaker, bulkhead, retry.

pub mod breaker;
pub mod bulkhead;
pub mod guard;
pub mod retry;

pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use bulkhead::Bulkhead;
pub use guard::{Guard, GuardError};
