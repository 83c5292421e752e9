//! `summary.md`: a short Markdown summary sized for a CI step summary.

use super::fmt_ms;
use super::model::Model;
use crate::summary::EndpointRow;
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
        r.requests,
        r.failures,
        fmt_ms(r.p50_us),
        fmt_ms(r.p95_us),
        fmt_ms(r.p99_us),
        fmt_ms(r.max_us),
        r.rps
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
        s.total.requests,
        s.duration_secs,
        cell(&s.config.host),
        if s.total.requests > 0 {
            s.total.failures as f64 * 100.0 / s.total.requests as f64
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
    Ok(())
}
