//! report.html's breakdowns: answers by status per endpoint, requests by
//! scenario, tasks' counters and feeders' rows.

use super::escape;
use super::model::Model;
use crate::units::fmt_us;
use std::io::{self, Write};

pub fn breakdown_section(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let s = m.summary;
    let rows: Vec<_> = s
        .endpoints
        .iter()
        .filter(|r| !r.statuses.is_empty())
        .collect();
    if !rows.is_empty() {
        writeln!(out, "<h2>Statuses</h2><table id=\"statuses\"><tr><th>Type</th><th>Name</th><th>Answers by status</th></tr>")?;
        for r in rows {
            let counts: Vec<String> = r
                .statuses
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.method),
                escape(&r.name),
                escape(&counts.join(", "))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !s.scenarios.is_empty() {
        writeln!(out, "<h2>By scenario</h2><table id=\"scenarios\"><tr><th>Scenario</th><th>Requests</th><th>Failures</th><th>P50</th><th>P95</th><th>P99</th><th>RPS</th></tr>")?;
        for r in &s.scenarios {
            let f = &r.figures;
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
                escape(&r.name),
                f.requests,
                f.failures,
                fmt_us(f.p50_us),
                fmt_us(f.p95_us),
                fmt_us(f.p99_us),
                f.rps
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !s.counters.is_empty() {
        writeln!(out, "<h2>Counters</h2><table id=\"counters\"><tr><th>Counter</th><th>Total</th><th>Per second</th></tr>")?;
        for c in &s.counters {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                escape(&c.name),
                c.total,
                c.per_sec
            )?;
        }
        writeln!(out, "</table>")?;
    }
    Ok(())
}
