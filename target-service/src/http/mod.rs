//! HTTP plumbing shared by all routes: overload protection and request metrics.

pub mod limits;
pub mod metrics;
