//! A summary.json checked on read, once, for every command that reads one
//! (`check`, `report`, `compare`, `run --baseline`): its histograms decode and
//! agree with its counts and percentiles, its time and rates make sense, its
//! shape is within the limits. A file that fails is refused, never judged.

use super::summary::{EndpointRow, Summary, OLDEST_READ, SCHEMA_VERSION};
use crate::metrics::EndpointFigures;
use crate::Error;
use std::path::Path;

impl Summary {
    /// Reads and checks a summary.json (`validate::check`): a file that does
    /// not hold together is a usage error naming it and what is wrong.
    pub fn read(path: &Path) -> Result<Summary, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        let summary: Summary = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{} is not a loadgen summary.json: {e}",
                path.display()
            ))
        })?;
        if !(OLDEST_READ..=SCHEMA_VERSION).contains(&summary.schema_version) {
            return Err(Error::Usage(format!(
                "{}: schema_version {} is not supported (this loadgen reads {OLDEST_READ} to {SCHEMA_VERSION})",
                path.display(),
                summary.schema_version
            )));
        }
        check(&summary).map_err(|e| {
            Error::Usage(format!(
                "{} is not a summary loadgen can trust: {e}",
                path.display()
            ))
        })?;
        Ok(summary)
    }
}

/// Why `summary` cannot be trusted, if it cannot.
pub fn check(summary: &Summary) -> Result<(), String> {
    let secs = summary.duration_secs;
    if secs < 0.0 || (secs == 0.0 && summary.total.figures.requests > 0) {
        return Err(format!(
            "duration_secs is {secs}: a run that made {} requests lasted some time",
            summary.total.figures.requests
        ));
    }
    row(&summary.total, secs)?;
    for r in &summary.endpoints {
        row(r, secs)?;
    }
    if !summary.endpoints.is_empty() {
        let sum = |f: fn(&EndpointRow) -> u64| {
            summary
                .endpoints
                .iter()
                .map(f)
                .fold(0u64, u64::saturating_add)
        };
        let (requests, failures) = (sum(|r| r.figures.requests), sum(|r| r.figures.failures));
        let total = &summary.total.figures;
        if (requests, failures) != (total.requests, total.failures) {
            return Err(format!(
                "the endpoints' requests and failures sum to {requests} and {failures}, \
                 the total says {} and {}",
                total.requests, total.failures
            ));
        }
    }
    summary.shape.validate().map_err(|e| format!("shape: {e}"))
}

/// One row: its histogram decodes, holds its requests, and gives its figures.
fn row(r: &EndpointRow, secs: f64) -> Result<(), String> {
    let name = format!("{} {}", r.method, r.name);
    let name = name.trim();
    let f = &r.figures;
    if f.failures > f.requests {
        return Err(format!(
            "{name}: {} failures of {} requests",
            f.failures, f.requests
        ));
    }
    for (what, v) in [
        ("rps", f.rps),
        ("failures_per_sec", f.failures_per_sec),
        ("mean_us", f.mean_us),
        ("avg_bytes", f.avg_bytes),
    ] {
        if v < 0.0 {
            return Err(format!("{name}: {what} is {v}"));
        }
    }
    let stats = r.stats()?;
    let again = EndpointFigures::of(&stats, secs);
    for (what, stored, from_hdr) in [
        ("min_us", f.min_us, again.min_us),
        ("max_us", f.max_us, again.max_us),
        ("p50_us", f.p50_us, again.p50_us),
        ("p90_us", f.p90_us, again.p90_us),
        ("p95_us", f.p95_us, again.p95_us),
        ("p99_us", f.p99_us, again.p99_us),
        ("p999_us", f.p999_us, again.p999_us),
    ] {
        if stored != from_hdr {
            return Err(format!(
                "{name}: {what} is {stored} but its histogram says {from_hdr}"
            ));
        }
    }
    if (f.rps - again.rps).abs() > 1e-6 * again.rps.max(1.0) {
        return Err(format!(
            "{name}: rps is {} but {} requests in {secs} s make {}",
            f.rps, f.requests, again.rps
        ));
    }
    Ok(())
}
