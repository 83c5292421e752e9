//! HTTP plumbing shared by all routes: the accept loop, overload protection and
//! request metrics.

pub mod accept;
pub mod limits;
pub mod metrics;
