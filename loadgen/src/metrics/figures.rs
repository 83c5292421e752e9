//! The figures of an endpoint (or of all requests), computed from its HDR stats
//! in one place for every consumer: summary.json, the console table, the
//! dashboard, the per-second series; and the shape of one distinct error.

use super::hdr;
use super::snapshot::{EndpointStats, FailureKind};
use serde::{Deserialize, Serialize};

/// Locust's figures of one endpoint over `secs` seconds; times in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointFigures {
    pub requests: u64,
    pub failures: u64,
    pub bytes: u64,
    pub min_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub rps: f64,
    pub failures_per_sec: f64,
    pub avg_bytes: f64,
    /// Open model: the same from each request's send (service time); the
    /// figures above are timed from each arrival's due time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_p50_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_p90_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_p95_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_p99_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_max_us: Option<u64>,
}

impl EndpointFigures {
    /// The figures of `s`, measured over `secs` seconds (rates are 0 for no time).
    pub fn of(s: &EndpointStats, secs: f64) -> EndpointFigures {
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let empty = s.hist.is_empty();
        EndpointFigures {
            requests: s.requests,
            failures: s.failures,
            bytes: s.bytes,
            min_us: if empty { 0 } else { s.hist.min() },
            max_us: if empty { 0 } else { s.hist.max() },
            mean_us: s.mean_us(),
            p50_us: s.percentile(50.0),
            p90_us: s.percentile(90.0),
            p95_us: s.percentile(95.0),
            p99_us: s.percentile(99.0),
            p999_us: s.percentile(99.9),
            rps: per_sec(s.requests),
            failures_per_sec: per_sec(s.failures),
            avg_bytes: if s.requests > 0 {
                s.bytes as f64 / s.requests as f64
            } else {
                0.0
            },
            service_p50_us: s.service.as_ref().map(|h| hdr::percentile(h, 50.0)),
            service_p90_us: s.service.as_ref().map(|h| hdr::percentile(h, 90.0)),
            service_p95_us: s.service.as_ref().map(|h| hdr::percentile(h, 95.0)),
            service_p99_us: s.service.as_ref().map(|h| hdr::percentile(h, 99.0)),
            service_max_us: s.service.as_ref().map(|h| hdr::percentile(h, 100.0)),
        }
    }

    /// Failed requests as a fraction of all (0 without requests).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }
}

/// A distinct error of an endpoint: what kind, what message, how often, and
/// the first and last second of the run it was seen in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorCount {
    pub method: String,
    pub name: String,
    pub kind: FailureKind,
    pub message: String,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_second: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_second: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_empty_and_recorded_stats() {
        let empty = EndpointFigures::of(&EndpointStats::default(), 10.0);
        assert_eq!((empty.min_us, empty.max_us, empty.p99_us), (0, 0, 0));
        assert_eq!((empty.avg_bytes, empty.error_rate()), (0.0, 0.0));
        let mut s = EndpointStats::default();
        s.record(1_000, 100, None);
        s.record(3_000, 300, Some((FailureKind::Status, "HTTP 503")));
        let f = EndpointFigures::of(&s, 2.0);
        assert_eq!(
            (f.requests, f.failures, f.rps, f.failures_per_sec),
            (2, 1, 1.0, 0.5)
        );
        assert_eq!((f.avg_bytes, f.error_rate()), (200.0, 0.5));
        assert_eq!(f.min_us, s.hist.min());
        assert_eq!(f.p50_us, s.percentile(50.0));
        assert_eq!(EndpointFigures::of(&s, 0.0).rps, 0.0);
    }
}
