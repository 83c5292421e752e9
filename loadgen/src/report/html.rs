//! `report.html`: one self-contained page (inline CSS, SVG and a few lines of
//! script, nothing fetched): charts over time, latency curves, tables, verdict.

use super::escape;
use super::html_charts::{percentile_chart, server_charts, time_charts};
use super::model::Model;
use super::summary::EndpointRow;
use super::svg::line_chart;
use crate::shape::LoadModel;
use crate::units::fmt_ms_fixed;
use std::io::{self, Write};

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:960px}\
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;\
text-align:right}td:first-child,td:nth-child(2),th{text-align:left}.pass{color:#1a7f37}\
.fail{color:#cf222e}.banner{font-size:20px;font-weight:600}.chart svg{width:100%;height:auto}\
.grid{stroke:#eee}.tick,.legend{font-size:11px;fill:#555}.axis{font-size:12px;fill:#333}\
.title{font-size:14px;font-weight:600}#errors:empty{display:none}#errors{color:#cf222e}";

/// Records script errors in the page itself, so a headless browser's DOM shows them.
const HEAD_SCRIPT: &str = "window.onerror=function(m,s,l){var e=document.getElementById('errors');\
if(e){var li=document.createElement('li');li.textContent=m+' (line '+l+')';e.appendChild(li);}};";

/// Marks every chart that holds a drawn series, for people (a count) and tests.
const TAIL_SCRIPT: &str = "(function(){var n=0;document.querySelectorAll('.chart').forEach(\
function(c){if(c.querySelector('svg polyline')){c.setAttribute('data-rendered','true');n++;}});\
document.body.setAttribute('data-charts',String(n));})();";

pub fn write(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let s = m.summary;
    let title = format!("loadgen: {} against {}", s.config.shape, s.config.host);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style><script>{HEAD_SCRIPT}</script></head><body>\n<ul id=\"errors\"></ul>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    )?;
    let (class, word) = if s.verdict.passed {
        ("pass", "PASSED")
    } else {
        ("fail", "FAILED")
    };
    writeln!(
        out,
        "<p class=\"banner {class}\" id=\"verdict\">{word}: {} of {} thresholds failed{}</p>",
        s.verdict.failed_rules,
        s.thresholds.len(),
        s.verdict
            .aborted
            .as_ref()
            .map(|why| format!("; {}", escape(why)))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "<p>Started {} &middot; ran {:.1} s{}{}</p>",
        escape(&s.started_at),
        s.duration_secs,
        if s.interrupted {
            " &middot; <b>interrupted</b>"
        } else {
            ""
        },
        s.stopped_by
            .as_ref()
            .map(|r| format!(" &middot; stopped: {}", escape(r)))
            .unwrap_or_default()
    )?;
    generator_section(m, out)?;
    super::html_connections::connections_section(m, out)?;
    writeln!(out, "<h2>Over time</h2>")?;
    for chart in time_charts(m) {
        out.write_all(line_chart(&chart).as_bytes())?;
    }
    server_section(m, out)?;
    writeln!(out, "<h2>Latency by percentile</h2>")?;
    out.write_all(line_chart(&percentile_chart(m)).as_bytes())?;
    endpoints_table(m, out)?;
    super::html_breakdown::breakdown_section(m, out)?;
    thresholds_table(m, out)?;
    faults_table(m, out)?;
    super::steered::html(m.summary, out)?;
    breaking_point(m, out)?;
    errors_table(m, out)?;
    super::workers_html::workers_table(m.summary, out)?;
    configuration(m, out)?;
    writeln!(out, "<script>{TAIL_SCRIPT}</script>\n</body></html>")
}

/// The load and connection models, the generator's self-check, and a warning
/// when it fell behind (its figures then understate latency).
fn generator_section(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let s = m.summary;
    let g = &s.generator;
    let model = match s.shape.model {
        LoadModel::Closed => "closed (users with think time)",
        LoadModel::Open => "open (arrivals per second; latency from each arrival's due time)",
    };
    writeln!(
        out,
        "<p id=\"models\">Load model: {model} &middot; connections: {} &middot; generator start lag \
         P99 {} ms, CPU up to {:.0}%{}</p>",
        s.config.connections.as_str(),
        fmt_ms_fixed(g.start_lag_p99_us),
        g.cpu_max * 100.0,
        match (g.arrivals, g.dropped, g.max_queued) {
            (Some(a), Some(d), Some(q)) =>
                format!(" &middot; {a} arrivals, {d} dropped, at most {q} waiting"),
            _ => String::new(),
        }
    )?;
    if s.generator_bound {
        writeln!(
            out,
            "<p class=\"banner fail\" id=\"generator-bound\">The generator fell behind: {}. \
             Latency was at least as bad as these figures.</p>",
            escape(&g.bound_by.join("; "))
        )?;
    }
    Ok(())
}

fn endpoint_row(out: &mut dyn Write, r: &EndpointRow) -> io::Result<()> {
    writeln!(
        out,
        "<tr data-name=\"{n}\"><td>{}</td><td>{n}</td><td>{}</td><td>{}</td><td class=\"p50\">{}</td>\
         <td class=\"p90\">{}</td><td class=\"p95\">{}</td><td class=\"p99\">{}</td><td class=\"p999\">{}</td>\
         <td>{}</td><td>{:.2}</td><td>{:.1}</td><td>{:.2}</td>{}</tr>",
        escape(&r.method),
        r.figures.requests,
        r.figures.failures,
        fmt_ms_fixed(r.figures.p50_us),
        fmt_ms_fixed(r.figures.p90_us),
        fmt_ms_fixed(r.figures.p95_us),
        fmt_ms_fixed(r.figures.p99_us),
        fmt_ms_fixed(r.figures.p999_us),
        fmt_ms_fixed(r.figures.max_us),
        r.figures.mean_us / 1000.0,
        r.figures.rps,
        r.figures.failures_per_sec,
        r.figures
            .service_p99_us
            .map(|us| format!("<td class=\"service-p99\">{}</td>", fmt_ms_fixed(us)))
            .unwrap_or_default(),
        n = escape(&r.name),
    )
}

fn endpoints_table(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<h2>Endpoints</h2><table id=\"endpoints\"><tr><th>Type</th><th>Name</th><th>Requests</th>\
         <th>Failures</th><th>P50 ms</th><th>P90 ms</th><th>P95 ms</th><th>P99 ms</th><th>P99.9 ms</th>\
         <th>Max ms</th><th>Avg ms</th><th>RPS</th><th>Failures/s</th>{}</tr>",
        if m.summary.total.figures.service_p99_us.is_some() {
            "<th>P99 from send ms</th>"
        } else {
            ""
        }
    )?;
    for (row, _) in &m.endpoints {
        endpoint_row(out, row)?;
    }
    endpoint_row(out, &m.summary.total)?;
    writeln!(out, "</table>")
}

fn thresholds_table(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<h2>Thresholds</h2>")?;
    if m.summary.thresholds.is_empty() {
        return writeln!(out, "<p>No thresholds: nothing judged.</p>");
    }
    writeln!(out, "<table id=\"thresholds\"><tr><th>Rule</th><th>Observed</th><th>Limit</th><th>Result</th></tr>")?;
    for r in &m.summary.thresholds {
        let (class, word) = if r.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td></tr>",
            escape(&r.rule),
            escape(&r.observed_text),
            escape(&r.limit_text)
        )?;
    }
    writeln!(out, "</table>")
}

/// Each `--at` action (numbered as on the charts' markers) and its recovery.
fn faults_table(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let faults = &m.summary.faults;
    if faults.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h2>Faults</h2><p>Recovered: {} \
         the fault (P99 at most twice the baseline's median second or 1.5 times its worst, plus 5 ms; \
         errors at most its worst second + 0.1 pp). Lost: failed requests and dropped arrivals until then.</p>\
         <table id=\"faults\"><tr><th>#</th><th>At</th><th>Command</th><th>Outcome</th>\
         <th>Recovery</th><th>Requests</th><th>Failed</th><th>Worst P99 ms</th><th>Lost</th></tr>",
        crate::judge::recovery::Windows::of(faults).describe()
    )?;
    for (i, f) in faults.iter().enumerate() {
        let e = &f.event;
        let at = e.started_secs.map_or("-".into(), |t| format!("{t:.1} s"));
        let log = e.log.as_ref().map_or(String::new(), |l| {
            format!(" (<a href=\"{0}\">{0}</a>)", escape(l))
        });
        let cells = match &f.recovery {
            Some(r) => format!(
                "<td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td>",
                if r.recovered_at.is_some() {
                    "pass"
                } else {
                    "fail"
                },
                r.recovered_after_secs
                    .map_or("not recovered".into(), |s| format!("{s} s")),
                r.during_requests,
                r.during_failures,
                r.during_p99_us as f64 / 1000.0,
                r.lost
            ),
            None => format!(
                "<td colspan=\"5\">{}</td>",
                escape(f.no_recovery.as_deref().unwrap_or("-"))
            ),
        };
        writeln!(
            out,
            "<tr><td>{}</td><td>{at}</td><td><code>{}</code></td><td>{}{log}</td>{cells}</tr>",
            i + 1,
            escape(&e.command),
            escape(&e.outcome)
        )?;
    }
    writeln!(out, "</table>")
}

/// What the shape's levels are: `Users` or `Iterations/s` (open model).
fn level_header(m: &Model) -> &'static str {
    match m.summary.shape.model {
        LoadModel::Closed => "Users",
        LoadModel::Open => "Iterations/s",
    }
}

fn breaking_point(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let Some(bp) = &m.summary.breaking_point else {
        return Ok(());
    };
    writeln!(
        out,
        "<h2>Breaking point</h2><p id=\"breaking-point\">{} (at second {})</p><table>\
         <tr><th>Step</th><th>{}</th><th>RPS</th><th>P99 ms</th><th>Errors</th></tr>",
        escape(&bp.reason),
        bp.second,
        level_header(m)
    )?;
    for (label, step) in [
        ("last good", bp.last_good.as_ref()),
        ("failing", Some(&bp.failing)),
    ] {
        if let Some(s) = step {
            writeln!(
                out,
                "<tr><td>{label}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.2}%</td></tr>",
                s.level,
                s.rps,
                fmt_ms_fixed(s.p99_us),
                s.error_rate * 100.0
            )?;
        }
    }
    writeln!(out, "</table>")
}

fn errors_table(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    if m.summary.errors.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2>Errors</h2><table><tr><th>Type</th><th>Name</th><th>Kind</th><th>Message</th><th>Count</th></tr>")?;
    for e in m.summary.errors.iter().take(50) {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
            escape(&e.method),
            escape(&e.name),
            e.kind,
            escape(&e.message),
            e.count
        )?;
    }
    writeln!(out, "</table>")
}

fn configuration(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let c = &m.summary.config;
    let opt = |v: Option<u64>| v.map_or_else(|| "shape default".to_string(), |v| v.to_string());
    let rows = [
        ("Shape", c.shape.clone()),
        ("Host", c.host.clone()),
        ("Bundled target", c.bundled_target.to_string()),
        ("Scenarios", c.scenarios.join(", ")),
        ("Connections", c.connections.as_str().to_string()),
        ("HTTP", c.http.as_str().to_string()),
        (
            "TLS verification",
            if c.insecure {
                "NONE (--insecure)".to_string()
            } else if c.ca.is_empty() {
                "the system's roots".to_string()
            } else {
                format!("the system's roots and {}", c.ca.join(", "))
            },
        ),
        ("Client certificate", c.client_cert.to_string()),
        ("Connect to", c.connect_to.join(", ")),
        ("Compress", c.compress.to_string()),
        (
            "Think time",
            c.think
                .clone()
                .unwrap_or_else(|| "each scenario's own".into()),
        ),
        ("Users", opt(c.users)),
        ("Duration (s)", opt(c.duration_secs)),
        ("Profile", c.profile.clone()),
        ("Rules", c.rules.join(", ")),
        ("Abort on fail", c.abort_on_fail.to_string()),
        (
            "Workers",
            match m.summary.workers.len() {
                0 => "this process".to_string(),
                n => format!("{n} (see Workers)"),
            },
        ),
        ("loadgen", m.summary.tool_version.clone()),
    ];
    writeln!(out, "<h2>Configuration</h2><table id=\"config\">")?;
    for (k, v) in rows {
        writeln!(out, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v))?;
    }
    writeln!(
        out,
        "</table><h3>Plan: {}</h3><table><tr><th>Stage</th><th>{}</th><th>Seconds</th></tr>",
        escape(&m.summary.shape.name),
        level_header(m)
    )?;
    for (i, st) in m.summary.shape.stages.iter().enumerate() {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            st.level,
            st.secs
        )?;
    }
    writeln!(out, "</table>")
}

/// The target's own metrics (`--scrape`), under the client's latency: each
/// target's scrapes, its outages and the metrics it never exposed, then a chart per metric.
fn server_section(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let Some(server) = &m.summary.server else {
        return Ok(());
    };
    writeln!(out, "<h3 id=\"server\">The server, each second</h3>")?;
    writeln!(out, "<table><tr><th>Scraped</th><th>Answered</th><th>Failed</th><th>Not answering</th><th>Not exposed</th></tr>")?;
    for t in &server.targets {
        let outages: Vec<String> = t
            .outages
            .iter()
            .map(|o| format!("{}s-{}s: {}", o.from_second, o.to_second, o.error))
            .collect();
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&t.url),
            t.scrapes,
            t.failures,
            escape(&outages.join("; ")),
            escape(&t.missing.join(", "))
        )?;
    }
    writeln!(out, "</table>")?;
    for chart in server_charts(m) {
        out.write_all(line_chart(&chart).as_bytes())?;
    }
    Ok(())
}
