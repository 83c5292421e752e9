//! Mergeable measurements: per-endpoint HDR stats and the per-second interval snapshot.

use super::connections::ConnectionStats;
use super::generator::GeneratorStats;
use super::hdr;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A request's identity in every table: its method and its name (`GET /books/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EndpointKey {
    pub method: String,
    pub name: String,
}

impl EndpointKey {
    /// Whether this is the endpoint a rule or a watched series names: `name`,
    /// with `method`, or with any method when `None`.
    pub fn is(&self, method: Option<&str>, name: &str) -> bool {
        self.name == name && method.is_none_or(|m| m == self.method)
    }
}

impl std::fmt::Display for EndpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.name)
    }
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The server answered with an error status (4xx/5xx).
    Status,
    /// No answer within the request timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connect,
    /// The answer came but a response check rejected it.
    Check,
    /// The TLS handshake failed (certificate, protocol version...).
    Tls,
    /// The answer was not HTTP as the protocol has it (bad framing, a bad
    /// status line, too many redirects, an oversized head or body).
    Protocol,
    /// The request was still waiting when it was cut: at the end of the run's
    /// graceful stop, or because the task dropped it.
    Cancelled,
    /// A task failed on its own (not a failed request): the error it returned.
    Task,
    /// Anything else (bad URL, body read error...).
    Other,
}

impl FailureKind {
    /// The kind as summary.json spells it: `status`, `timeout`, `connect`,
    /// `check`, `tls`, `protocol`, `cancelled`, `task`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Status => "status",
            FailureKind::Timeout => "timeout",
            FailureKind::Connect => "connect",
            FailureKind::Check => "check",
            FailureKind::Tls => "tls",
            FailureKind::Protocol => "protocol",
            FailureKind::Cancelled => "cancelled",
            FailureKind::Task => "task",
            FailureKind::Other => "other",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Distinct error messages kept per endpoint per interval; the rest are pooled.
const MAX_ERROR_KEYS: usize = 64;

/// Counts and latencies of one endpoint (or of all) over some time; mergeable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StatsWire", try_from = "StatsWire")]
pub struct EndpointStats {
    pub hist: Histogram<u64>,
    pub requests: u64,
    pub failures: u64,
    pub bytes: u64,
    /// Latencies above `hdr::MAX_US`, recorded as the maximum.
    pub clamped: u64,
    pub errors: BTreeMap<(FailureKind, String), u64>,
    /// Service times (from each request's send), when `hist` holds something
    /// else: in the open model `hist` is timed from each arrival's due time.
    pub service: Option<Histogram<u64>>,
    /// Answers by HTTP status (requests without an answer are not here).
    pub statuses: BTreeMap<u16, u64>,
}

impl Default for EndpointStats {
    fn default() -> Self {
        EndpointStats {
            hist: hdr::new_histogram(),
            requests: 0,
            failures: 0,
            bytes: 0,
            clamped: 0,
            errors: BTreeMap::new(),
            service: None,
            statuses: BTreeMap::new(),
        }
    }
}

impl EndpointStats {
    pub fn record(&mut self, latency_us: u64, bytes: u64, failure: Option<(FailureKind, &str)>) {
        self.requests += 1;
        self.bytes += bytes;
        if hdr::record_clamped(&mut self.hist, latency_us) {
            self.clamped += 1;
        }
        if let Some((kind, message)) = failure {
            self.failures += 1;
            self.add_error(kind, message, 1);
        }
    }

    /// The status of the answer just recorded.
    pub fn record_status(&mut self, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
    }

    /// The service time of the request just recorded (open model).
    pub fn record_service(&mut self, service_us: u64) {
        let hist = self.service.get_or_insert_with(hdr::new_histogram);
        hdr::record_clamped(hist, service_us);
    }

    fn add_error(&mut self, kind: FailureKind, message: &str, n: u64) {
        let key = (kind, message.to_string());
        if self.errors.len() < MAX_ERROR_KEYS || self.errors.contains_key(&key) {
            *self.errors.entry(key).or_default() += n;
        } else {
            *self
                .errors
                .entry((FailureKind::Other, "(other messages)".into()))
                .or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &EndpointStats) {
        // Both histograms share our bounds, so `add` cannot fail.
        self.hist.add(&other.hist).expect("histograms share bounds");
        self.requests += other.requests;
        self.failures += other.failures;
        self.bytes += other.bytes;
        self.clamped += other.clamped;
        for ((kind, message), n) in &other.errors {
            self.add_error(*kind, message, *n);
        }
        if let Some(theirs) = &other.service {
            let ours = self.service.get_or_insert_with(hdr::new_histogram);
            ours.add(theirs).expect("histograms share bounds");
        }
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
    }

    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }

    pub fn percentile(&self, p: f64) -> u64 {
        hdr::percentile(&self.hist, p)
    }

    pub fn mean_us(&self) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.mean()
        }
    }
}

/// The serialized form: the histogram as base64 V2 bytes.
#[derive(Serialize, Deserialize)]
struct StatsWire {
    hdr: String,
    requests: u64,
    failures: u64,
    bytes: u64,
    clamped: u64,
    errors: Vec<(FailureKind, String, u64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_hdr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    statuses: Vec<(u16, u64)>,
}

impl From<EndpointStats> for StatsWire {
    fn from(s: EndpointStats) -> Self {
        StatsWire {
            hdr: hdr::to_base64(&s.hist),
            requests: s.requests,
            failures: s.failures,
            bytes: s.bytes,
            clamped: s.clamped,
            errors: s.errors.into_iter().map(|((k, m), n)| (k, m, n)).collect(),
            service_hdr: s.service.as_ref().map(hdr::to_base64),
            statuses: s.statuses.into_iter().collect(),
        }
    }
}

impl TryFrom<StatsWire> for EndpointStats {
    type Error = String;
    fn try_from(w: StatsWire) -> Result<Self, String> {
        let hist = hdr::from_base64(&w.hdr)?;
        if hist.len() != w.requests {
            return Err(format!(
                "histogram holds {} samples but requests says {}",
                hist.len(),
                w.requests
            ));
        }
        let service = w.service_hdr.as_deref().map(hdr::from_base64).transpose()?;
        if let Some(s) = service.as_ref().filter(|s| s.len() != w.requests) {
            return Err(format!(
                "service histogram holds {} samples but requests says {}",
                s.len(),
                w.requests
            ));
        }
        let answered: u64 = w.statuses.iter().map(|(_, n)| n).sum();
        if answered > w.requests || w.statuses.iter().any(|(s, _)| !(100..1000).contains(s)) {
            return Err(format!(
                "status counts ({answered} answers) do not fit {} requests",
                w.requests
            ));
        }
        Ok(EndpointStats {
            hist,
            requests: w.requests,
            failures: w.failures,
            bytes: w.bytes,
            clamped: w.clamped,
            errors: w.errors.into_iter().map(|(k, m, n)| ((k, m), n)).collect(),
            service,
            statuses: w.statuses.into_iter().collect(),
        })
    }
}

/// What one process measured in one second of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalSnapshot {
    /// Seconds since the run's start: this interval covers [second, second + 1).
    pub second: u64,
    /// Users active at the end of the interval.
    pub users: u64,
    /// The users' connections (zero in the shared-pool model, which does not count them).
    #[serde(default)]
    pub connections: ConnectionStats,
    /// How well this generator kept its schedule in the interval.
    #[serde(default)]
    pub generator: GeneratorStats,
    #[serde(with = "as_pairs")]
    pub endpoints: BTreeMap<EndpointKey, EndpointStats>,
    /// The same requests by scenario (persona).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "super::bounded::scenarios"
    )]
    pub scenarios: BTreeMap<String, EndpointStats>,
    /// Counters tasks kept (`vu.count(name, n)`), by name.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "super::bounded::counters"
    )]
    pub counters: BTreeMap<String, u64>,
}

/// JSON maps need string keys: endpoints travel as a list of (key, stats) pairs.
mod as_pairs {
    use super::super::bounded::MAX_SNAPSHOT_ENDPOINTS;
    use super::{EndpointKey, EndpointStats};
    use serde::{Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<EndpointKey, EndpointStats>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<EndpointKey, EndpointStats>, D::Error> {
        let rows: Vec<(EndpointKey, EndpointStats)> =
            super::super::bounded::seq(d, MAX_SNAPSHOT_ENDPOINTS, "endpoint rows")?;
        Ok(rows.into_iter().collect())
    }
}

impl IntervalSnapshot {
    /// All endpoints merged.
    pub fn total(&self) -> EndpointStats {
        let mut total = EndpointStats::default();
        for stats in self.endpoints.values() {
            total.merge(stats);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_through_json() {
        let mut stats = EndpointStats::default();
        stats.record(1_500, 120, None);
        stats.record(9_000_000, 0, Some((FailureKind::Status, "HTTP 503")));
        let mut snap = IntervalSnapshot {
            second: 3,
            users: 10,
            ..Default::default()
        };
        snap.endpoints.insert(
            EndpointKey {
                method: "GET".into(),
                name: "/books/{id}".into(),
            },
            stats,
        );
        let json = serde_json::to_string(&snap).unwrap();
        let back: IntervalSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
        assert_eq!(back.total().failures, 1);
    }

    #[test]
    fn failure_kinds_print_as_they_serialize() {
        for kind in [
            FailureKind::Status,
            FailureKind::Timeout,
            FailureKind::Connect,
            FailureKind::Check,
            FailureKind::Other,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
    }

    #[test]
    fn merge_adds_everything() {
        let (mut a, mut b) = (EndpointStats::default(), EndpointStats::default());
        a.record(100, 10, None);
        b.record(200, 20, Some((FailureKind::Timeout, "timed out")));
        a.merge(&b);
        assert_eq!(
            (a.requests, a.failures, a.bytes, a.hist.len()),
            (2, 1, 30, 2)
        );
        assert_eq!(
            a.errors[&(FailureKind::Timeout, "timed out".to_string())],
            1
        );
    }

    #[test]
    fn error_messages_are_bounded() {
        let mut s = EndpointStats::default();
        for i in 0..1_000 {
            s.record(1, 0, Some((FailureKind::Check, &format!("msg {i}"))));
        }
        assert!(s.errors.len() <= MAX_ERROR_KEYS + 1);
        assert_eq!(s.errors.values().sum::<u64>(), 1_000);
    }

    #[test]
    fn a_lying_wire_form_is_refused() {
        let json = r#"{"hdr":"","requests":5,"failures":0,"bytes":0,"clamped":0,"errors":[]}"#;
        assert!(serde_json::from_str::<EndpointStats>(json).is_err());
    }
}
