//! report.html's charts: the series over time (users and connections,
//! throughput, latency; the open model's P99 from send; the target's own
//! series from --scrape) and the latency
//! percentile curve of each endpoint, drawn as inline SVG by `svg`.

use super::model::{pct, Model};
use super::svg::{Chart, Line};
use crate::observe::server_series::SeriesKind;
use crate::observe::DEFAULT_SCRAPE_METRICS;
use crate::shape::LoadModel;
use hdrhistogram::Histogram;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn line(name: &str, color: &'static str, points: Vec<(f64, f64)>, dashed: bool) -> Line {
    Line {
        name: name.into(),
        color,
        points,
        dashed,
    }
}

fn chart(id: &str, title: &str, y_label: &str, lines: Vec<Line>) -> Chart {
    Chart {
        id: id.into(),
        title: title.into(),
        x_label: "seconds since start".into(),
        y_label: y_label.into(),
        lines,
        x_ticks: None,
        markers: Vec::new(),
    }
}

/// Each fault (`--at`) where it started, labelled with its command.
fn fault_markers(m: &Model) -> Vec<(f64, String)> {
    m.summary
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((f.event.started_secs?, f.event.label(i + 1))))
        .collect()
}

pub fn time_charts(m: &Model) -> Vec<Chart> {
    let series = &m.summary.series;
    // A point at the end of each second, where the aggregator measured it.
    let at = |f: &dyn Fn(&crate::metrics::SecondPoint) -> f64| -> Vec<(f64, f64)> {
        series
            .iter()
            .map(|p| (p.second as f64 + 1.0, f(p)))
            .collect()
    };
    let shape = &m.summary.shape;
    let plan_end = shape.total_secs().max(series.len() as u64);
    let plan: Vec<(f64, f64)> = (0..=plan_end)
        .map(|t| (t as f64, shape.level_at(t as f64)))
        .collect();
    let ms = |us: u64| us as f64 / 1000.0;
    let open = m.summary.shape.model == LoadModel::Open;
    let marked = |mut c: Chart| {
        c.markers = fault_markers(m);
        c.markers.extend(super::steered::markers(m.summary));
        c
    };
    let charts = vec![
        chart(
            "chart-users",
            "Users: planned and run",
            "users",
            vec![
                line("planned", PALETTE[7], plan, true),
                line("run", PALETTE[0], at(&|p| p.users as f64), false),
            ],
        ),
        chart(
            "chart-throughput",
            "Requests and failures per second",
            "per second",
            vec![
                line("requests/s", PALETTE[0], at(&|p| p.requests as f64), false),
                line("failures/s", PALETTE[1], at(&|p| p.failures as f64), false),
            ],
        ),
        chart(
            "chart-latency",
            "Latency each second (ms)",
            "ms",
            vec![
                line("P50", PALETTE[2], at(&|p| ms(p.p50_us)), false),
                line("P95", PALETTE[3], at(&|p| ms(p.p95_us)), false),
                line("P99", PALETTE[1], at(&|p| ms(p.p99_us)), false),
            ]
            .into_iter()
            .chain(open.then(|| {
                let service = |p: &crate::metrics::SecondPoint| ms(p.service_p99_us.unwrap_or(0));
                line("P99 from send", PALETTE[4], at(&service), true)
            }))
            .collect(),
        ),
    ];
    charts.into_iter().map(marked).collect()
}

/// The target's own series (`--scrape`), one chart per metric, on the same
/// time axis as the latency chart above them: a point at the end of each
/// second, one line per instance and label set.
pub fn server_charts(m: &Model) -> Vec<Chart> {
    let Some(server) = &m.summary.server else {
        return Vec::new();
    };
    // The defaults first, in-flight and shed leading, then what --scrape-metric added.
    let mut metrics: Vec<&str> = DEFAULT_SCRAPE_METRICS
        .into_iter()
        .filter(|m| server.series.iter().any(|s| s.metric == *m))
        .collect();
    for s in &server.series {
        if !metrics.contains(&s.metric.as_str()) {
            metrics.push(&s.metric);
        }
    }
    let several_targets = server.targets.len() > 1;
    metrics
        .into_iter()
        .map(|metric| {
            let series: Vec<_> = server
                .series
                .iter()
                .filter(|s| s.metric == metric)
                .collect();
            let lines = series
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let name = s.short_label(several_targets);
                    let points = s
                        .points
                        .iter()
                        .map(|(sec, v)| (*sec as f64 + 1.0, *v))
                        .collect();
                    line(&name, PALETTE[i % PALETTE.len()], points, false)
                })
                .collect();
            let rate = series.first().is_some_and(|s| s.kind == SeriesKind::Rate);
            let mut c = chart(
                &format!("chart-server-{metric}"),
                &format!("Server: {metric}{}", if rate { " per second" } else { "" }),
                if rate { "per second" } else { "value" },
                lines,
            );
            c.markers = fault_markers(m);
            c
        })
        .collect()
}

/// Latency against percentile on HdrHistogram's usual axis: x = log10(1/(1-p)).
fn curve(hist: &Histogram<u64>) -> Vec<(f64, f64)> {
    (0..=100)
        .map(|i| {
            let x = f64::from(i) * 0.05;
            let p = 100.0 * (1.0 - 10f64.powf(-x));
            (x, pct(hist, p) as f64 / 1000.0)
        })
        .collect()
}

pub fn percentile_chart(m: &Model) -> Chart {
    let mut lines = vec![line("all", "#222", curve(&m.total.hist), true)];
    for (i, (row, stats)) in m.endpoints.iter().enumerate().take(12) {
        let name = format!("{} {}", row.method, row.name);
        lines.push(line(
            &name,
            PALETTE[i % PALETTE.len()],
            curve(&stats.hist),
            false,
        ));
    }
    let ticks = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .enumerate()
        .map(|(i, t)| (i as f64, t.to_string()))
        .collect();
    Chart {
        id: "chart-percentiles".into(),
        title: "Latency percentile curve per endpoint (ms)".into(),
        x_label: "percentile".into(),
        y_label: "ms".into(),
        lines,
        x_ticks: Some(ticks),
        markers: Vec::new(),
    }
}
