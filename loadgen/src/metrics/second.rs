//! One second of a run as every chart and per-second rule reads it: its
//! figures, computed once from that second's merged histogram.

use super::figures::EndpointFigures;
use super::snapshot::EndpointStats;
use serde::{Deserialize, Serialize};

/// One second of the run, computed from that second's merged histogram.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondPoint {
    pub second: u64,
    pub users: u64,
    pub requests: u64,
    pub failures: u64,
    pub bytes: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// The users' connections open at the end of the second (per-user model).
    #[serde(default)]
    pub connections: u64,
    /// Connections opened during the second.
    #[serde(default)]
    pub connects: u64,
    /// Open model: P99 from each request's send (`p99_us` is from its arrival's due time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_p99_us: Option<u64>,
    /// Open model: arrivals dropped in the second, and the most waiting at once in it.
    #[serde(default)]
    pub dropped: u64,
    #[serde(default)]
    pub queued: u64,
    /// How late the generator started work in the second (P99, microseconds).
    #[serde(default)]
    pub lag_p99_us: u64,
    /// The generator's CPU in the second, as a share of what it may use
    /// (the busiest generator of a distributed run).
    #[serde(default)]
    pub cpu: f64,
}

impl SecondPoint {
    pub fn from_stats(second: u64, users: u64, s: &EndpointStats) -> SecondPoint {
        let f = EndpointFigures::of(s, 1.0);
        SecondPoint {
            second,
            users,
            requests: f.requests,
            failures: f.failures,
            bytes: f.bytes,
            mean_us: f.mean_us,
            p50_us: f.p50_us,
            p95_us: f.p95_us,
            p99_us: f.p99_us,
            max_us: f.max_us,
            connections: 0,
            connects: 0,
            service_p99_us: f.service_p99_us,
            dropped: 0,
            queued: 0,
            lag_p99_us: 0,
            cpu: 0.0,
        }
    }
}
