//! Headless output: a status line while running; the Locust-style table, the
//! verdict and the breaking point at the end. Every figure comes from HDR.

use super::summary::{EndpointRow, Summary};
use crate::engine::Tick;
use crate::metrics::EndpointFigures;
use crate::shape::{LoadModel, Shape};
use crate::units::{fmt_ms, fmt_secs, fmt_us};
use std::fmt::Write;

/// Locust's endpoint table columns, as the console and the dashboard show them.
pub const LOCUST_COLUMNS: [&str; 13] = [
    "Type",
    "Name",
    "# Requests",
    "# Fails",
    "Median",
    "95%ile",
    "99%ile",
    "Average",
    "Min",
    "Max",
    "Avg size",
    "RPS",
    "Failures/s",
];

/// One endpoint's cells under `LOCUST_COLUMNS` (times in ms, as Locust prints them).
pub fn locust_cells(method: &str, name: &str, f: &EndpointFigures) -> [String; 13] {
    [
        method.to_string(),
        name.to_string(),
        f.requests.to_string(),
        format!("{}({:.2}%)", f.failures, f.error_rate() * 100.0),
        fmt_ms(f.p50_us as f64),
        fmt_ms(f.p95_us as f64),
        fmt_ms(f.p99_us as f64),
        fmt_ms(f.mean_us),
        fmt_ms(f.min_us as f64),
        fmt_ms(f.max_us as f64),
        format!("{:.0}", f.avg_bytes),
        format!("{:.2}", f.rps),
        format!("{:.2}", f.failures_per_sec),
    ]
}

/// `[  35s/1m30s] users 120/150 | conns 120 | 312.4 rps | fails 0.00% | p50 3.20ms p95 9.10ms p99 15.0ms | 10234 reqs`
/// (`conns` when the run counts its users' connections).
pub fn status_line(tick: &Tick, shape: &Shape, connections: bool) -> String {
    let agg = tick.aggregator;
    let planned = shape.level_at(tick.second as f64 + 1.0);
    let load = match shape.model {
        LoadModel::Closed => format!("users {}/{planned:.0}", agg.current_users()),
        LoadModel::Open => format!("rate {planned:.0}/s | users {}", agg.current_users()),
    };
    let recent = agg.window(5);
    let secs = agg.series.len().clamp(1, 5) as f64;
    let conns = match agg.series.last() {
        Some(p) if connections => format!(" | conns {}", p.connections),
        _ => String::new(),
    };
    let open = match agg.series.last() {
        Some(p) if agg.generator.arrivals > 0 => {
            format!(" | waiting {} dropped {}", p.queued, agg.generator.dropped)
        }
        _ => String::new(),
    };
    let behind = if agg.generator.bound_reasons().is_empty() {
        ""
    } else {
        " | GENERATOR BEHIND: figures understate latency"
    };
    format!(
        "[{:>6}/{}] {load}{conns}{open} | {:.1} rps | fails {:.2}% | p50 {} p95 {} p99 {} (last 5s) | {} reqs{behind}",
        fmt_secs(tick.second + 1),
        fmt_secs(shape.total_secs()),
        recent.requests as f64 / secs,
        agg.total.error_rate() * 100.0,
        fmt_us(recent.percentile(50.0)),
        fmt_us(recent.percentile(95.0)),
        fmt_us(recent.percentile(99.0)),
        agg.total.requests,
    )
}

fn row(out: &mut String, cells: &[String; 13]) {
    let name = truncate(&cells[1], 32);
    let _ = writeln!(
        out,
        "{:<7} {:<32} {:>10} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10}",
        cells[0],
        name,
        cells[2],
        cells[3],
        cells[4],
        cells[5],
        cells[6],
        cells[7],
        cells[8],
        cells[9],
        cells[10],
        cells[11],
        cells[12],
    );
}

fn endpoint_row(out: &mut String, r: &EndpointRow) {
    row(out, &locust_cells(&r.method, &r.name, &r.figures));
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}~", s.chars().take(n - 1).collect::<String>())
    }
}

/// The endpoints table (times in ms), the verdict, and the breaking point.
pub fn final_report(s: &Summary) -> String {
    let mut out = String::new();
    row(&mut out, &LOCUST_COLUMNS.map(String::from));
    let _ = writeln!(out, "{}", "-".repeat(148));
    for r in &s.endpoints {
        endpoint_row(&mut out, r);
    }
    let _ = writeln!(out, "{}", "-".repeat(148));
    endpoint_row(&mut out, &s.total);
    let _ = writeln!(
        out,
        "(times in ms; {} over {:.1} s)",
        if s.interrupted {
            "INTERRUPTED run"
        } else {
            "run"
        },
        s.duration_secs
    );
    let _ = writeln!(out, "{}", connections_line(s));
    out.push_str(&service_times(s));
    let _ = writeln!(out, "{}", generator_line(s));
    if !s.errors.is_empty() {
        let _ = writeln!(out, "\nErrors:");
        for e in s.errors.iter().take(10) {
            let _ = writeln!(
                out,
                "  {:>8}  {} {}  [{}] {}",
                e.count, e.method, e.name, e.kind, e.message
            );
        }
    }
    out.push_str(&super::breakdown::breakdown(s));
    if !s.warnings.is_empty() {
        let _ = writeln!(out);
        for w in &s.warnings {
            let _ = writeln!(out, "Warning: {w}");
        }
    }
    if let Some(bp) = &s.breaking_point {
        let unit = s.shape.model.unit();
        let _ = writeln!(out, "\nBreaking point: {}", bp.reason);
        if let Some(g) = &bp.last_good {
            let _ = writeln!(
                out,
                "  last good step: {} {unit}, {:.1} rps, p99 {}, errors {:.2}%",
                g.level,
                g.rps,
                fmt_us(g.p99_us),
                g.error_rate * 100.0
            );
        }
        let f = &bp.failing;
        let _ = writeln!(
            out,
            "  failing step:   {} {unit}, {:.1} rps, p99 {}, errors {:.2}%",
            f.level,
            f.rps,
            fmt_us(f.p99_us),
            f.error_rate * 100.0
        );
    }
    out.push_str(&faults_table(s));
    out.push_str(&super::steered::console(s));
    out.push_str(&server_table(s));
    out.push_str(&verdict_table(s));
    out
}

/// The target's own metrics (`--scrape`): how each target answered, and each
/// series' peak over the run.
pub fn server_table(s: &Summary) -> String {
    let mut out = String::new();
    let Some(server) = &s.server else {
        return out;
    };
    let _ = writeln!(out, "\nServer metrics (--scrape, each second):");
    for t in &server.targets {
        let _ = writeln!(
            out,
            "  {}: {} scrapes answered, {} failed",
            t.url, t.scrapes, t.failures
        );
        for o in &t.outages {
            let _ = writeln!(
                out,
                "    not answering {}-{}: {}",
                fmt_secs(o.from_second),
                fmt_secs(o.to_second),
                truncate(&o.error, 60)
            );
        }
        if !t.missing.is_empty() {
            let _ = writeln!(out, "    not exposed: {}", t.missing.join(", "));
        }
    }
    for series in &server.series {
        let peak = series.points.iter().map(|p| p.1).fold(f64::NAN, f64::max);
        let _ = writeln!(
            out,
            "  {:<66} peak {}",
            truncate(&format!("{} {}", series.instance(), series.label()), 66),
            si(peak)
        );
    }
    out
}

/// 43806720 as `43.8M`, 0.37 as `0.37`: a peak of any unit, readable.
fn si(v: f64) -> String {
    match v.abs() {
        a if a >= 1e9 => format!("{:.1}G", v / 1e9),
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.1}k", v / 1e3),
        a if a >= 100.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

/// Each `--at` action: how it ran, and how the target took it.
pub fn faults_table(s: &Summary) -> String {
    let mut out = String::new();
    if s.faults.is_empty() {
        return out;
    }
    let windows = crate::judge::recovery::Windows::of(&s.faults);
    let _ = writeln!(out, "\nFaults (recovered: {}):", windows.describe());
    for (i, f) in s.faults.iter().enumerate() {
        let e = &f.event;
        let started = e
            .started_secs
            .map_or_else(|| "-".to_string(), |t| fmt_secs(t as u64));
        let _ = writeln!(
            out,
            "  {}. at {started}: {}  [{}]",
            i + 1,
            truncate(&e.command, 60),
            e.outcome
        );
        let _ = writeln!(out, "     {}", recovery_text(f));
    }
    out
}

/// One fault's recovery in a sentence.
pub fn recovery_text(f: &crate::judge::FaultReport) -> String {
    let Some(r) = &f.recovery else {
        return format!(
            "no recovery measured: {}",
            f.no_recovery.as_deref().unwrap_or("-")
        );
    };
    let back = match (r.disturbed_from, r.recovered_after_secs) {
        (None, Some(_)) => "stayed within the band (recovery 0s)".to_string(),
        (Some(from), Some(after)) => format!(
            "out of the band from {}, recovered after {}",
            fmt_secs(from),
            fmt_secs(after)
        ),
        (_, None) => "NOT recovered by the end of the run".to_string(),
    };
    if r.during_secs == 0 {
        return back;
    }
    format!(
        "{back}; in those {}: {} requests, {} failed ({:.2}%), worst second's P99 {}, lost {} (band: P99 <= {}, errors <= {:.2}%)",
        fmt_secs(r.during_secs),
        r.during_requests,
        r.during_failures,
        r.during_error_rate * 100.0,
        fmt_us(r.during_p99_us),
        r.lost,
        fmt_us(r.band_p99_us),
        r.band_error_rate * 100.0
    )
}

/// Open model: the table's times run from each arrival's due time (what a user
/// waited, queueing included); here the same requests from their send.
fn service_times(s: &Summary) -> String {
    let mut out = String::new();
    if s.total.figures.service_p99_us.is_none() {
        return out;
    }
    let _ = writeln!(
        out,
        "Open model: the times above run from each arrival's due time; from each request's send (service time):"
    );
    for r in s.endpoints.iter().chain([&s.total]) {
        let f = &r.figures;
        let ms = |us: Option<u64>| fmt_ms(us.unwrap_or(0) as f64);
        let _ = writeln!(
            out,
            "  {:<7} {:<32} median {:>8}  95%ile {:>8}  99%ile {:>8}  max {:>8}",
            r.method,
            truncate(&r.name, 32),
            ms(f.service_p50_us),
            ms(f.service_p95_us),
            ms(f.service_p99_us),
            ms(f.service_max_us),
        );
    }
    out
}

/// How well the generator kept its schedule, and the open model's arrivals.
pub fn generator_line(s: &Summary) -> String {
    let g = &s.generator;
    let mut line = format!(
        "Generator: start lag p50 {} p99 {} max {}; CPU up to {:.0}% of what it may use",
        fmt_us(g.start_lag_p50_us),
        fmt_us(g.start_lag_p99_us),
        fmt_us(g.start_lag_max_us),
        g.cpu_max * 100.0
    );
    if let (Some(a), Some(d), Some(q)) = (g.arrivals, g.dropped, g.max_queued) {
        let _ = write!(
            line,
            "; {a} arrivals, {d} dropped, at most {q} waiting for a user"
        );
    }
    for why in &g.bound_by {
        let _ = write!(line, "\nWARNING: the generator fell behind: {why}");
    }
    line
}

/// The connection model, and what the users' connections did when counted.
pub fn connections_line(s: &Summary) -> String {
    match &s.connections {
        Some(c) => {
            let mut line = format!(
                "Connections (one per user per origin): peak {} open, {} opened, {} failed to open; connect p50 {} p99 {} max {}; first byte p50 {} p99 {}",
                c.peak_open,
                c.opened,
                c.failed,
                fmt_us(c.connect_p50_us),
                fmt_us(c.connect_p99_us),
                fmt_us(c.connect_max_us),
                fmt_us(c.ttfb.p50_us),
                fmt_us(c.ttfb.p99_us),
            );
            let t = &c.tls;
            if t.handshakes_full + t.handshakes_resumed + t.failed > 0 {
                line.push_str(&format!(
                    "\nTLS{}: {} full and {} resumed handshakes, {} failed; handshake p50 {} p99 {} max {}",
                    if s.config.insecure { " (--insecure: certificates NOT verified)" } else { "" },
                    t.handshakes_full,
                    t.handshakes_resumed,
                    t.failed,
                    fmt_us(t.time.p50_us),
                    fmt_us(t.time.p99_us),
                    fmt_us(t.time.max_us),
                ));
            }
            let h = &c.http;
            if h.http2_connections > 0 {
                line.push_str(&format!(
                    "\nHTTP/2: {} connections ({} HTTP/1.1), {} streams, {} GOAWAY, {} RST_STREAM",
                    h.http2_connections,
                    h.http1_connections,
                    h.h2_streams,
                    h.h2_goaways,
                    h.h2_resets
                ));
            }
            if c.origins.len() > 1 {
                let list: Vec<String> = c
                    .origins
                    .iter()
                    .map(|o| format!("{} ({})", o.origin, o.connections))
                    .collect();
                line.push_str(&format!("\nOrigins: {}", list.join(", ")));
            }
            if c.compressed_wire_bytes > 0 {
                line.push_str(&format!(
                    "\nCompressed answers: {} bytes on the wire, {} decoded",
                    c.compressed_wire_bytes, c.compressed_decoded_bytes
                ));
            }
            line
        }
        None => {
            "Connections: one shared pool (--connections shared; not counted, and not one per user)"
                .into()
        }
    }
}

pub fn verdict_table(s: &Summary) -> String {
    let mut out = String::new();
    if s.thresholds.is_empty() {
        match &s.verdict.aborted {
            Some(why) => {
                let _ = writeln!(out, "\nNo thresholds.\nVerdict: FAILED ({why})");
            }
            None => {
                let _ = writeln!(out, "\nNo thresholds: nothing judged.");
            }
        }
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<40} {:>14} {:>14}  Result",
        "Threshold", "Observed", "Limit"
    );
    for r in &s.thresholds {
        let _ = writeln!(
            out,
            "{:<40} {:>14} {:>14}  {}",
            truncate(&r.rule, 40),
            r.observed_text,
            r.limit_text,
            if r.passed { "pass" } else { "FAIL" }
        );
    }
    let _ = writeln!(
        out,
        "Verdict: {}",
        if s.verdict.passed {
            "PASSED".to_string()
        } else if let Some(why) = &s.verdict.aborted {
            format!(
                "FAILED ({why}; {} of {} thresholds failed)",
                s.verdict.failed_rules,
                s.thresholds.len()
            )
        } else if s.verdict.failed_rules == 0 {
            "FAILED (breaking point below the goal)".to_string()
        } else {
            format!(
                "FAILED ({} of {} thresholds)",
                s.verdict.failed_rules,
                s.thresholds.len()
            )
        }
    );
    if let Some(why) = &s.verdict.breaking_point_below_goal {
        let _ = writeln!(out, "Breaking point below the goal: {why}");
    }
    if let Some(why) = &s.verdict.figures_understate_latency {
        let _ = writeln!(out, "Figures understate latency: {why}");
    }
    if let Some(why) = &s.stopped_by {
        let _ = writeln!(out, "Stopped early: {why}");
    }
    out
}
