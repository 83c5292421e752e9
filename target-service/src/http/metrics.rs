//! The `/metrics` exposition in Prometheus text format: request counts and latency
//! histograms (recorded per request), overload counters, and at scrape time the
//! breakers, bulkheads, database pool and process.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::process_metrics::{self, ProcessStats};
use crate::resilience::BreakerState;
use crate::resilience::Guard;
use crate::store::PoolStats;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// `circuit_breaker_state`'s `state` label values.
const BREAKER_STATES: [(BreakerState, &str); 3] = [
    (BreakerState::Closed, "closed"),
    (BreakerState::Open, "open"),
    (BreakerState::HalfOpen, "half_open"),
];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    shed: AtomicU64,
    rate_limited: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut routes = self.routes.lock().expect("metrics lock");
        let stats = routes
            .entry((method.to_string(), route.to_string()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        stats.count += 1;
        stats.sum_secs += secs;
        for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
    }

    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition, plus the gauges of the service's state:
    /// requests in flight, each dependency's guard, the database pool.
    pub fn render(&self, in_flight: usize, guards: &[&Guard], pool: PoolStats) -> String {
        let mut out = String::with_capacity(8 * 1024);
        self.render_requests(&mut out);
        self.render_overload(&mut out, in_flight);
        render_guards(&mut out, guards);
        render_pool(&mut out, pool);
        if let Some(process) = process_metrics::read() {
            render_process(&mut out, &process);
        }
        out
    }

    /// The per-route request counter and latency histogram (one lock, held briefly).
    fn render_requests(&self, out: &mut String) {
        let routes = self.routes.lock().expect("metrics lock");
        family(
            out,
            "http_requests_total",
            "counter",
            "HTTP requests answered, by method, matched route and status.",
        );
        for ((method, route), stats) in routes.iter() {
            let (method, route) = (escape_label(method), escape_label(route));
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        family(
            out,
            "http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response, by method and matched route.",
        );
        for ((method, route), stats) in routes.iter() {
            let labels = format!(
                "method=\"{}\",route=\"{}\"",
                escape_label(method),
                escape_label(route)
            );
            histogram(out, "http_request_duration_seconds", &labels, stats);
        }
    }

    fn render_overload(&self, out: &mut String, in_flight: usize) {
        let shed = self.shed.load(Ordering::Relaxed);
        let limited = self.rate_limited.load(Ordering::Relaxed);
        family(
            out,
            "http_requests_shed_total",
            "counter",
            "Requests refused with 503 because too many were in flight.",
        );
        let _ = writeln!(out, "http_requests_shed_total {shed}");
        family(
            out,
            "http_requests_rate_limited_total",
            "counter",
            "Requests refused with 429 by the per-client rate limit.",
        );
        let _ = writeln!(out, "http_requests_rate_limited_total {limited}");
        family(
            out,
            "http_requests_in_flight",
            "gauge",
            "Requests being handled now.",
        );
        let _ = writeln!(out, "http_requests_in_flight {in_flight}");
    }
}

/// One histogram series: cumulative buckets, `+Inf` (= count), sum and count.
fn histogram(out: &mut String, name: &str, labels: &str, stats: &RouteStats) {
    for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
    }
    let count = stats.count;
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", stats.sum_secs);
    let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
}

/// Each dependency's breaker and bulkhead, one family at a time (the text format
/// wants a family's samples together).
fn render_guards(out: &mut String, guards: &[&Guard]) {
    let statuses: Vec<_> = guards.iter().map(|g| g.breaker.status()).collect();
    family(
        out,
        "circuit_breaker_open",
        "gauge",
        "1 while the dependency's circuit breaker is not closed (open or half-open), else 0.",
    );
    for s in &statuses {
        let open = u8::from(s.state != BreakerState::Closed);
        let _ = writeln!(
            out,
            "circuit_breaker_open{{dependency=\"{}\"}} {open}",
            escape_label(s.name)
        );
    }
    family(
        out,
        "circuit_breaker_state",
        "gauge",
        "The dependency's circuit breaker state, one-hot: 1 for the current state, 0 for the others.",
    );
    for s in &statuses {
        let dependency = escape_label(s.name);
        for (state, name) in BREAKER_STATES {
            let on = u8::from(s.state == state);
            let _ = writeln!(
                out,
                "circuit_breaker_state{{dependency=\"{dependency}\",state=\"{name}\"}} {on}"
            );
        }
    }
    family(
        out,
        "bulkhead_in_use",
        "gauge",
        "Slots of the dependency's bulkhead taken by calls in progress.",
    );
    for (guard, s) in guards.iter().zip(&statuses) {
        let in_use = guard.bulkhead.in_use();
        let _ = writeln!(
            out,
            "bulkhead_in_use{{dependency=\"{}\"}} {in_use}",
            escape_label(s.name)
        );
    }
}

/// The database connection pool, whichever backend runs.
fn render_pool(out: &mut String, pool: PoolStats) {
    family(
        out,
        "db_pool_connections",
        "gauge",
        "Open database connections in the pool, by state (in_use: checked out; idle: waiting).",
    );
    let _ = writeln!(
        out,
        "db_pool_connections{{state=\"in_use\"}} {}",
        pool.in_use
    );
    let _ = writeln!(out, "db_pool_connections{{state=\"idle\"}} {}", pool.idle);
    family(
        out,
        "db_pool_max_connections",
        "gauge",
        "The most connections the database pool may open.",
    );
    let _ = writeln!(out, "db_pool_max_connections {}", pool.max);
}

/// The Prometheus client libraries' standard process series.
fn render_process(out: &mut String, p: &ProcessStats) {
    let series: [(&str, &str, &str, f64); 4] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            p.cpu_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_bytes as f64,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            p.open_fds as f64,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            p.start_time_seconds,
        ),
    ];
    for (name, kind, help, value) in series {
        family(out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
}

/// A family's `# HELP` and `# TYPE` lines (help text must not hold a newline or a
/// backslash: it is written as is).
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    debug_assert!(!help.contains(['\\', '\n']), "{name}'s help needs escaping");
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value escaped for the text format: backslash, double quote and newline.
fn escape_label(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("/books/{id}"), "/books/{id}");
        assert_eq!(escape_label("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
    }

    #[test]
    fn request_families_escape_labels_and_announce_themselves() {
        let m = Metrics::default();
        m.observe("GE\"T", "/x\\y\nz", 200, 0.003);
        m.observe("GE\"T", "/x\\y\nz", 500, 20.0);
        let mut out = String::new();
        m.render_requests(&mut out);
        let labels = r#"method="GE\"T",route="/x\\y\nz""#;
        for line in [
            "# HELP http_requests_total ".to_string(),
            "# TYPE http_requests_total counter\n".to_string(),
            "# TYPE http_request_duration_seconds histogram\n".to_string(),
            format!("http_requests_total{{{labels},status=\"500\"}} 1\n"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"0.0025\"}} 0\n"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1\n"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"10\"}} 1\n"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2\n"),
            format!("http_request_duration_seconds_count{{{labels}}} 2\n"),
        ] {
            assert!(out.contains(&line), "{line:?} missing from:\n{out}");
        }
        // Every sample is one line: the newline in the route never reaches the output raw.
        assert!(
            out.lines().all(|l| l.starts_with('#') || l.contains('}')),
            "{out}"
        );
    }
}
