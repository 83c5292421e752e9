//! Request metrics in Prometheus text format: counts, latency histograms, overload counters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
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

    /// The Prometheus exposition, plus the gauges the state knows about.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::new();
        out.push_str("# TYPE http_requests_total counter\n");
        let routes = self.routes.lock().expect("metrics lock");
        for ((method, route), stats) in routes.iter() {
            for (status, n) in &stats.by_status {
                let _ = writeln!(out, "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((method, route), stats) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                stats.sum_secs
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
        drop(routes);
        let _ = writeln!(
            out,
            "# TYPE http_requests_shed_total counter\nhttp_requests_shed_total {}",
            self.shed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# TYPE http_requests_rate_limited_total counter\nhttp_requests_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight {}",
            state.in_flight.current()
        );
        out.push_str("# TYPE circuit_breaker_open gauge\n# TYPE bulkhead_in_use gauge\n");
        for guard in state.guards.all() {
            let s = guard.breaker.status();
            let open = u8::from(s.state != crate::resilience::BreakerState::Closed);
            let _ = writeln!(
                out,
                "circuit_breaker_open{{dependency=\"{}\"}} {open}",
                s.name
            );
            let _ = writeln!(
                out,
                "bulkhead_in_use{{dependency=\"{}\"}} {}",
                s.name,
                guard.bulkhead.in_use()
            );
        }
        out
    }
}

/// Records every request's route, status and latency.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    // Handlers' logs (including an error's detail) land inside this request's span.
    let span = tracing::info_span!("request", %method, %route);
    let response = next.run(req).instrument(span).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
