//! HTTP plumbing shared by all routes: the accept loop, request bodies read before
//! they count, overload protection, rate limiting and request metrics (the types
//! in their own modules; `layers`, the middleware that reads the state).

pub mod accept;
pub mod body;
pub mod layers;
pub mod limits;
pub mod metrics;
pub mod process_metrics;
pub mod rate_limit;
