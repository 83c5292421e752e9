//! The final report's breakdowns after the endpoints table: each endpoint's
//! answers by status (accepted 429s show here), the requests by scenario,
//! tasks' counters, and the feeders' rows.

use super::summary::Summary;
use crate::units::fmt_us;
use std::fmt::Write;

/// Statuses, scenarios, counters and feeders, as lines (empty when none).
pub fn breakdown(s: &Summary) -> String {
    let mut out = String::new();
    let with_statuses: Vec<_> = s
        .endpoints
        .iter()
        .filter(|r| !r.statuses.is_empty())
        .collect();
    if !with_statuses.is_empty() {
        let _ = writeln!(out, "\nStatuses:");
        for r in with_statuses {
            let counts: Vec<String> = r
                .statuses
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            let _ = writeln!(out, "  {} {}: {}", r.method, r.name, counts.join(", "));
        }
    }
    if s.scenarios.len() > 1 {
        let _ = writeln!(out, "\nBy scenario:");
        for r in &s.scenarios {
            let f = &r.figures;
            let _ = writeln!(
                out,
                "  {:<24} {:>9} requests {:>7} failed  p50 {} p95 {} p99 {}  {:.1} rps",
                r.name,
                f.requests,
                f.failures,
                fmt_us(f.p50_us),
                fmt_us(f.p95_us),
                fmt_us(f.p99_us),
                f.rps
            );
        }
    }
    let (feeders, counters): (Vec<_>, Vec<_>) = s
        .counters
        .iter()
        .partition(|c| c.name.starts_with("feeder."));
    if !counters.is_empty() {
        let _ = writeln!(out, "\nCounters:");
        for c in counters {
            let _ = writeln!(out, "  {:<32} {:>12} ({:.2}/s)", c.name, c.total, c.per_sec);
        }
    }
    if !feeders.is_empty() {
        let _ = writeln!(out, "\nFeeders:");
        for c in feeders {
            let _ = writeln!(
                out,
                "  {:<32} {:>12}",
                c.name.trim_start_matches("feeder."),
                c.total
            );
        }
    }
    out
}
