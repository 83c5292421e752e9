//! loadgen's live figures in the Prometheus text format: what `--prometheus`
//! serves. Every latency comes from the run's HDR histograms.
//!
//! Latency is exported twice, on purpose. `loadgen_request_duration_seconds` is
//! a Prometheus *histogram* per endpoint (cumulative bucket counts read off the
//! HDR histogram, exact to its 3 significant digits): buckets add up across
//! endpoints, runs and instances, and `histogram_quantile` over `rate(...)`
//! gives a quantile over any window. Its bounds are coarse, though (P99 falls
//! somewhere between 250 ms and 500 ms), so `loadgen_latency_seconds` is a
//! Prometheus *summary* of all requests with the exact HDR P50, P95 and P99 of
//! the whole run so far (`window="run"`: the figures the summary will have)
//! and of the last second (`window="second"`: the dashboard's). Summary
//! quantiles cannot be aggregated; use them as they are, per run.

use super::prom_text::escape_label;
use crate::judge::rule::Metric;
use crate::judge::{Evidence, Rule};
use crate::metrics::{hdr, Aggregator, EndpointStats, FailureKind};
use crate::shape::{LoadModel, Shape};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Upper bounds of the histogram's buckets, in seconds.
pub const BUCKETS_SECS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// What does not change during a run.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub shape_name: String,
    pub shape: Shape,
    /// `per-user` or `shared`.
    pub connections: String,
    /// `local` or `manager`.
    pub role: &'static str,
    pub rules: Vec<Rule>,
}

/// The run as it stands.
pub struct View<'a> {
    pub aggregator: &'a Aggregator,
    pub elapsed_secs: f64,
    /// Workers connected (a manager only).
    pub workers: Option<usize>,
    pub finished: bool,
}

/// The whole exposition.
pub fn render(info: &RunInfo, view: &View) -> String {
    let mut out = Out(String::with_capacity(16 * 1024));
    let agg = view.aggregator;
    let open = info.shape.model == LoadModel::Open;
    let model = if open { "open" } else { "closed" };
    out.family(
        "loadgen_info",
        "gauge",
        "The run: its shape, load model, connection model and this process's role.",
    );
    let labels = format!(
        "shape=\"{}\",load_model=\"{model}\",connections=\"{}\",role=\"{}\"",
        escape_label(&info.shape_name),
        escape_label(&info.connections),
        info.role
    );
    out.sample("loadgen_info", &labels, 1.0);
    out.gauge(
        "loadgen_elapsed_seconds",
        "Seconds since the run started.",
        view.elapsed_secs,
    );
    out.gauge(
        "loadgen_run_finished",
        "1 once the run has ended and these are its final figures.",
        f64::from(u8::from(view.finished)),
    );
    requests(&mut out, &agg.endpoints);
    latency(&mut out, agg);
    load(&mut out, info, view);
    thresholds(&mut out, info, view);
    if let Some(workers) = view.workers {
        out.gauge(
            "loadgen_workers",
            "Workers taking part in the run.",
            workers as f64,
        );
    }
    out.0
}

fn requests(out: &mut Out, endpoints: &BTreeMap<crate::metrics::EndpointKey, EndpointStats>) {
    out.family(
        "loadgen_requests_total",
        "counter",
        "Requests completed, by endpoint.",
    );
    for (key, s) in endpoints {
        out.sample("loadgen_requests_total", &endpoint(key), s.requests as f64);
    }
    out.family(
        "loadgen_request_failures_total",
        "counter",
        "Requests failed, by endpoint and kind (status, timeout, connect, check, other).",
    );
    for (key, s) in endpoints {
        let mut by_kind: BTreeMap<FailureKind, u64> = BTreeMap::new();
        for ((kind, _), n) in &s.errors {
            *by_kind.entry(*kind).or_default() += n;
        }
        for (kind, n) in by_kind {
            let labels = format!("{},kind=\"{kind}\"", endpoint(key));
            out.sample("loadgen_request_failures_total", &labels, n as f64);
        }
    }
    let name = "loadgen_request_duration_seconds";
    out.family(
        name,
        "histogram",
        "Request latency by endpoint (open model: from each arrival's due time), from the HDR histogram.",
    );
    for (key, s) in endpoints {
        let labels = endpoint(key);
        for (bound, n) in BUCKETS_SECS.iter().zip(cumulative_buckets(&s.hist)) {
            out.sample(
                &format!("{name}_bucket"),
                &format!("{labels},le=\"{bound}\""),
                n as f64,
            );
        }
        let count = s.hist.len() as f64;
        out.sample(
            &format!("{name}_bucket"),
            &format!("{labels},le=\"+Inf\""),
            count,
        );
        out.sample(&format!("{name}_sum"), &labels, s.mean_us() * count / 1e6);
        out.sample(&format!("{name}_count"), &labels, count);
    }
}

/// How many samples are at or below each bucket's bound, in one pass over
/// the histogram's recorded values (each read as its HDR bucket's highest
/// equivalent value, as the percentiles are).
pub fn cumulative_buckets(hist: &Histogram<u64>) -> [u64; BUCKETS_SECS.len()] {
    let bounds_us = BUCKETS_SECS.map(|b| (b * 1e6).round() as u64);
    let mut counts = [0u64; BUCKETS_SECS.len()];
    for v in hist.iter_recorded() {
        let first = bounds_us.partition_point(|&b| b < v.value_iterated_to());
        if let Some(c) = counts.get_mut(first) {
            *c += v.count_at_value();
        }
    }
    let mut running = 0;
    for c in &mut counts {
        running += *c;
        *c = running;
    }
    counts
}

fn latency(out: &mut Out, agg: &Aggregator) {
    let name = "loadgen_latency_seconds";
    out.family(
        name,
        "summary",
        "Exact HDR latency quantiles of all requests: window=\"run\" so far, window=\"second\" the last second.",
    );
    let total = &agg.total;
    if !total.hist.is_empty() {
        let quantiles = [50.0, 95.0, 99.0].map(|p| hdr::percentile(&total.hist, p));
        let count = total.hist.len();
        summary(out, "run", quantiles, count, total.mean_us() * count as f64);
    }
    if let Some(last) = agg.series.last().filter(|p| p.requests > 0) {
        let quantiles = [last.p50_us, last.p95_us, last.p99_us];
        summary(
            out,
            "second",
            quantiles,
            last.requests,
            last.mean_us * last.requests as f64,
        );
    }
}

/// One window of the latency summary: P50, P95, P99, then its sum and count.
fn summary(out: &mut Out, window: &str, quantiles_us: [u64; 3], count: u64, sum_us: f64) {
    let name = "loadgen_latency_seconds";
    for (q, us) in ["0.5", "0.95", "0.99"].into_iter().zip(quantiles_us) {
        out.sample(
            name,
            &format!("window=\"{window}\",quantile=\"{q}\""),
            secs(us),
        );
    }
    let labels = format!("window=\"{window}\"");
    out.sample(&format!("{name}_sum"), &labels, sum_us / 1e6);
    out.sample(&format!("{name}_count"), &labels, count as f64);
}

fn load(out: &mut Out, info: &RunInfo, view: &View) {
    let agg = view.aggregator;
    let last = agg.series.last().cloned().unwrap_or_default();
    out.gauge(
        "loadgen_users",
        "Users running in the last second.",
        last.users as f64,
    );
    let level = if view.finished {
        0.0
    } else {
        info.shape.level_at(view.elapsed_secs)
    };
    if info.shape.model == LoadModel::Open {
        out.gauge(
            "loadgen_target_arrivals_per_second",
            "The plan's arrival rate now (open model).",
            level,
        );
        out.counter(
            "loadgen_arrivals_dropped_total",
            "Arrivals dropped because no user was free and the queue was full.",
            agg.generator.dropped as f64,
        );
        out.gauge(
            "loadgen_arrivals_queued",
            "The most arrivals waiting for a free user in the last second.",
            last.queued as f64,
        );
    } else {
        out.gauge(
            "loadgen_target_users",
            "The plan's users now (closed model).",
            level,
        );
    }
    if info.connections == "per-user" {
        out.gauge(
            "loadgen_connections",
            "Users' connections open at the end of the last second.",
            last.connections as f64,
        );
        out.counter(
            "loadgen_connections_opened_total",
            "Connections the users opened.",
            agg.connections.sum.opened as f64,
        );
        timings(out, &agg.connections.sum);
    }
    out.gauge(
        "loadgen_generator_lag_p99_seconds",
        "How late the generator started work in the last second (P99).",
        secs(last.lag_p99_us),
    );
    out.gauge(
        "loadgen_generator_cpu_ratio",
        "The generator's CPU in the last second, as a share of what it may use.",
        last.cpu,
    );
}

/// What users waited besides the answer: connect, TLS handshake and time to
/// first byte as exact HDR quantiles of the run so far; handshakes and HTTP/2
/// events as counters.
fn timings(out: &mut Out, c: &crate::metrics::ConnectionStats) {
    let name = "loadgen_phase_seconds";
    out.family(
        name,
        "summary",
        "Exact HDR quantiles of the run so far: phase=\"connect\" (TCP), \"tls\" (handshake), \"ttfb\" (send to first byte).",
    );
    for (phase, hist) in [
        ("connect", &c.connect_us),
        ("tls", &c.tls_us),
        ("ttfb", &c.ttfb_us),
    ] {
        if hist.is_empty() {
            continue;
        }
        for (q, p) in [("0.5", 50.0), ("0.99", 99.0)] {
            out.sample(
                name,
                &format!("phase=\"{phase}\",quantile=\"{q}\""),
                secs(hdr::percentile(hist, p)),
            );
        }
        let labels = format!("phase=\"{phase}\"");
        out.sample(
            &format!("{name}_sum"),
            &labels,
            hist.mean() * hist.len() as f64 / 1e6,
        );
        out.sample(&format!("{name}_count"), &labels, hist.len() as f64);
    }
    let family = "loadgen_tls_handshakes_total";
    out.family(family, "counter", "TLS handshakes, full and resumed.");
    out.sample(family, "kind=\"full\"", c.handshakes_full as f64);
    out.sample(family, "kind=\"resumed\"", c.handshakes_resumed as f64);
    out.counter(
        "loadgen_http2_streams_total",
        "HTTP/2 streams opened (one a request).",
        c.h2_streams as f64,
    );
    out.counter(
        "loadgen_http2_goaways_total",
        "HTTP/2 connections told to go away (GOAWAY).",
        c.h2_goaways as f64,
    );
    out.counter(
        "loadgen_http2_resets_total",
        "HTTP/2 streams the server reset (RST_STREAM).",
        c.h2_resets as f64,
    );
}

fn thresholds(out: &mut Out, info: &RunInfo, view: &View) {
    let agg = view.aggregator;
    let evidence = Evidence {
        total: &agg.total,
        endpoints: &agg.endpoints,
        secs: view.elapsed_secs,
        series: &agg.series,
        request_series: &agg.request_series,
        faults: &[],
        counters: &agg.counters,
    };
    out.family(
        "loadgen_threshold_passing",
        "gauge",
        "1 while a threshold holds on the run so far, 0 once it fails (absent until it can be judged).",
    );
    for rule in info.rules.iter().filter(|r| r.metric != Metric::Recovery) {
        let result = rule.evaluate(&evidence);
        if result.observed.is_some() {
            let labels = format!("rule=\"{}\"", escape_label(&rule.text));
            out.sample(
                "loadgen_threshold_passing",
                &labels,
                f64::from(u8::from(result.passed)),
            );
        }
    }
}

fn endpoint(key: &crate::metrics::EndpointKey) -> String {
    format!(
        "method=\"{}\",name=\"{}\"",
        escape_label(&key.method),
        escape_label(&key.name)
    )
}

fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        let _ = if labels.is_empty() {
            writeln!(self.0, "{name} {value}")
        } else {
            writeln!(self.0, "{name}{{{labels}}} {value}")
        };
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, "gauge", help);
        self.sample(name, "", value);
    }

    fn counter(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, "counter", help);
        self.sample(name, "", value);
    }
}

#[cfg(test)]
mod tests {
    use super::super::prom_text::{parse, Kind};
    use super::*;
    use crate::metrics::{EndpointKey, IntervalSnapshot};

    fn aggregator() -> Aggregator {
        let mut agg = Aggregator::new(10);
        for second in 0..3 {
            let mut snap = IntervalSnapshot {
                second,
                users: 10,
                ..Default::default()
            };
            let books = snap
                .endpoints
                .entry(EndpointKey {
                    method: "GET".into(),
                    name: "/books/{id}".into(),
                })
                .or_default();
            for us in [800, 3_000, 40_000, 700_000] {
                books.record(us, 100, None);
            }
            books.record(2_000, 0, Some((FailureKind::Status, "503")));
            let loans = snap
                .endpoints
                .entry(EndpointKey {
                    method: "POST".into(),
                    name: "/loans \"x\"".into(),
                })
                .or_default();
            loans.record(90_000_000, 0, Some((FailureKind::Timeout, "timed out")));
            agg.ingest(&snap);
        }
        agg.finalize_through(2);
        agg
    }

    #[test]
    fn the_exposition_parses_and_agrees_with_the_hdr_figures() {
        let agg = aggregator();
        let info = RunInfo {
            shape_name: "plan".into(),
            shape: Shape::parse_plan("10,20s").unwrap(),
            connections: "per-user".into(),
            role: "local",
            rules: vec![
                Rule::parse("error-rate<1%").unwrap(),
                Rule::parse("p99<10s").unwrap(),
            ],
        };
        let view = View {
            aggregator: &agg,
            elapsed_secs: 5.0,
            workers: None,
            finished: false,
        };
        let text = render(&info, &view);
        let e = parse(&text).unwrap();
        let books = [("method", "GET"), ("name", "/books/{id}")];
        assert_eq!(e.get("loadgen_requests_total", &books), Some(15.0));
        assert_eq!(e.kind_of("loadgen_requests_total"), Kind::Counter);
        let fail = [
            ("method", "POST"),
            ("name", "/loans \"x\""),
            ("kind", "timeout"),
        ];
        assert_eq!(e.get("loadgen_request_failures_total", &fail), Some(3.0));
        let bucket = |le: &str| {
            let labels = [("method", "GET"), ("name", "/books/{id}"), ("le", le)];
            e.get("loadgen_request_duration_seconds_bucket", &labels)
                .unwrap()
        };
        // 800 us and 2 ms (x3 seconds) under 2.5 ms; 3 ms under 5 ms; 40 ms under 50 ms.
        assert_eq!(
            (
                bucket("0.001"),
                bucket("0.0025"),
                bucket("0.005"),
                bucket("0.05")
            ),
            (3.0, 6.0, 9.0, 12.0)
        );
        assert_eq!(
            (bucket("0.5"), bucket("1"), bucket("+Inf")),
            (12.0, 15.0, 15.0)
        );
        assert_eq!(
            e.kind_of("loadgen_request_duration_seconds_bucket"),
            Kind::Histogram
        );
        let p99 = e
            .get(
                "loadgen_latency_seconds",
                &[("window", "run"), ("quantile", "0.99")],
            )
            .unwrap();
        assert_eq!(p99, hdr::percentile(&agg.total.hist, 99.0) as f64 / 1e6);
        assert!(e
            .get(
                "loadgen_latency_seconds",
                &[("window", "second"), ("quantile", "0.5")]
            )
            .is_some());
        assert_eq!(e.get("loadgen_users", &[]), Some(10.0));
        assert_eq!(
            e.get("loadgen_target_users", &[]),
            Some(2.5),
            "a quarter up a ramp to 10"
        );
        assert_eq!(
            e.get("loadgen_threshold_passing", &[("rule", "error-rate<1%")]),
            Some(0.0)
        );
        assert_eq!(
            e.get("loadgen_threshold_passing", &[("rule", "p99<10s")]),
            Some(0.0)
        );
        assert_eq!(e.get("loadgen_run_finished", &[]), Some(0.0));
        assert!(e.get("loadgen_connections", &[]).is_some());
        assert!(
            e.get("loadgen_workers", &[]).is_none(),
            "a local run has no workers"
        );
        let families: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert_eq!(families.len(), helps, "every family has its HELP");
    }

    #[test]
    fn every_loadgen_metric_the_grafana_dashboard_reads_is_exported() {
        let agg = aggregator();
        let closed = RunInfo {
            shape_name: "plan".into(),
            shape: Shape::parse_plan("10,20s").unwrap(),
            connections: "per-user".into(),
            role: "local",
            rules: vec![Rule::parse("p99<1s").unwrap()],
        };
        let open = RunInfo {
            shape: Shape::parse_rate("100,20s").unwrap(),
            role: "manager",
            ..closed.clone()
        };
        let view = |workers| View {
            aggregator: &agg,
            elapsed_secs: 5.0,
            workers,
            finished: false,
        };
        let mut exported = std::collections::BTreeSet::new();
        for text in [render(&closed, &view(None)), render(&open, &view(Some(2)))] {
            for sample in parse(&text).unwrap().samples {
                exported.insert(sample.name);
            }
        }
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/grafana/loadgen.json"
        );
        let dashboard = std::fs::read_to_string(path).unwrap();
        let mut read = std::collections::BTreeSet::new();
        for (i, _) in dashboard.match_indices("loadgen_") {
            let name: String = dashboard[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            read.insert(name);
        }
        read.remove("loadgen_"); // the dashboard's own uid or title, not a metric
        let unknown: Vec<_> = read.iter().filter(|n| !exported.contains(*n)).collect();
        assert!(read.len() >= 10, "{read:?}");
        assert!(
            unknown.is_empty(),
            "the dashboard reads metrics loadgen does not export: {unknown:?}"
        );
    }
}
