//! `summary.md`: a short Markdown summary sized for a CI step summary.

use super::model::Model;
use super::summary::EndpointRow;
use crate::units::fmt_ms_fixed;
use std::io::{self, Write};

/// Endpoints beyond this many are left to the HTML report.
const MAX_ENDPOINTS: usize = 20;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn row(out: &mut dyn Write, r: &EndpointRow, bold: bool) -> io::Result<()> {
    let b = if bold { "**" } else { "" };
    let name = format!("{} {}", r.method, r.name);
    writeln!(
        out,
        "| {b}{}{b} | {} | {} | {} | {} | {} | {} | {:.1} |",
        cell(name.trim()),
        r.figures.requests,
        r.figures.failures,
        fmt_ms_fixed(r.figures.p50_us),
        fmt_ms_fixed(r.figures.p95_us),
        fmt_ms_fixed(r.figures.p99_us),
        fmt_ms_fixed(r.figures.max_us),
        r.figures.rps
    )
}

pub fn write(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let s = m.summary;
    let verdict = if s.verdict.passed {
        "✅ passed"
    } else {
        "❌ failed"
    };
    writeln!(
        out,
        "### loadgen `{}`: {verdict}\n\n{} requests in {:.1} s against `{}`, error rate {:.2}%{}\n",
        cell(&s.config.shape),
        s.total.figures.requests,
        s.duration_secs,
        cell(&s.config.host),
        if s.total.figures.requests > 0 {
            s.total.figures.failures as f64 * 100.0 / s.total.figures.requests as f64
        } else {
            0.0
        },
        if s.interrupted {
            " (**interrupted**)"
        } else {
            ""
        }
    )?;
    if !s.thresholds.is_empty() {
        writeln!(
            out,
            "| Threshold | Observed | Limit | Result |\n|---|---|---|---|"
        )?;
        for r in &s.thresholds {
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&r.rule),
                cell(&r.observed_text),
                cell(&r.limit_text),
                if r.passed { "pass" } else { "**FAIL**" }
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "| Endpoint | Requests | Failures | P50 ms | P95 ms | P99 ms | Max ms | RPS |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for (r, _) in m.endpoints.iter().take(MAX_ENDPOINTS) {
        row(out, r, false)?;
    }
    row(out, &s.total, true)?;
    if m.endpoints.len() > MAX_ENDPOINTS {
        writeln!(
            out,
            "\n({} more endpoints in report.html)",
            m.endpoints.len() - MAX_ENDPOINTS
        )?;
    }
    if let Some(bp) = &s.breaking_point {
        writeln!(
            out,
            "\n**Breaking point**: {} (second {})",
            cell(&bp.reason),
            bp.second
        )?;
    }
    if let Some(why) = &s.verdict.aborted {
        writeln!(out, "\n**Aborted**: {}", cell(why))?;
    }
    super::steered::markdown(s, out)?;
    if !s.faults.is_empty() {
        writeln!(
            out,
            "\n| Fault | At | Outcome | Recovery |\n|---|---:|---|---|"
        )?;
        for f in &s.faults {
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&f.event.command),
                f.event
                    .started_secs
                    .map_or("-".into(), |t| format!("{t:.1} s")),
                cell(&f.event.outcome),
                cell(&super::console::recovery_text(f))
            )?;
        }
    }
    if let Some(server) = &s.server {
        writeln!(
            out,
            "\n| Scraped | Answered | Failed | Not answering |\n|---|---:|---:|---|"
        )?;
        for t in &server.targets {
            let outages: Vec<String> = t
                .outages
                .iter()
                .map(|o| format!("{}s-{}s", o.from_second, o.to_second))
                .collect();
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&t.url),
                t.scrapes,
                t.failures,
                outages.join(", ")
            )?;
        }
    }
    Ok(())
}
