//! Locust 2.x's CSV files, column for column: `stats.csv`, `stats_history.csv`
//! (the Aggregated row each second) and `failures.csv`. Times in milliseconds:
//! median and percentiles as whole ms, average, min and max as fractions, as Locust writes them.

use super::model::{pct, Model};
use super::PERCENTILES;
use crate::clock;
use crate::metrics::{hdr, EndpointStats};
use crate::units::whole_ms;
use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

pub const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,\
Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,\
Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

pub const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,\
50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,\
Total Median Response Time,Total Average Response Time,Total Min Response Time,\
Total Max Response Time,Total Average Content Size";

pub const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";

/// Quotes a field the way Python's csv module does by default (QUOTE_MINIMAL).
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A float as Python's `str` writes it (`12.0`, `0.25`).
fn py(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

fn ms(us: f64) -> String {
    py(us / 1000.0)
}

/// The 11 percentile columns, or `N/A` for each when there is no request (as Locust).
fn percentiles(stats: Option<&EndpointStats>) -> String {
    PERCENTILES
        .iter()
        .map(|(p, _)| match stats {
            Some(s) if s.requests > 0 => whole_ms(s.percentile(*p)).to_string(),
            _ => "N/A".into(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn write_stats(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{STATS_HEADER}")?;
    let rows = m.endpoints.iter().map(|(r, s)| (*r, s));
    for (row, stats) in rows.chain([(&m.summary.total, &m.total)]) {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            field(&row.method),
            field(&row.name),
            row.figures.requests,
            row.figures.failures,
            whole_ms(stats.percentile(50.0)),
            ms(row.figures.mean_us),
            ms(row.figures.min_us as f64),
            ms(row.figures.max_us as f64),
            py(row.figures.avg_bytes),
            py(row.figures.rps),
            py(row.figures.failures_per_sec),
            percentiles(Some(stats)),
        )?;
    }
    Ok(())
}

/// One Aggregated row per second: that second's rate, and (as Locust does
/// without `--csv-full-history`) cumulative percentiles and totals. The
/// cumulative percentiles and minimum need `latency.hlog`; without it they are `N/A`.
pub fn write_history(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{HISTORY_HEADER}")?;
    let mut cumulative = EndpointStats::default();
    let mut seconds = m.seconds.as_deref().unwrap_or(&[]).iter().peekable();
    let (mut requests, mut failures, mut bytes, mut max_us, mut sum_us) =
        (0u64, 0u64, 0u64, 0u64, 0f64);
    for p in &m.summary.series {
        requests += p.requests;
        failures += p.failures;
        bytes += p.bytes;
        max_us = max_us.max(p.max_us);
        sum_us += p.mean_us * p.requests as f64;
        while let Some((s, h)) = seconds.peek() {
            if *s > p.second {
                break;
            }
            let _ = cumulative.hist.add(h);
            cumulative.requests += h.len();
            seconds.next();
        }
        let known = m.seconds.is_some();
        let (pcts, median, min) = if known {
            let median = whole_ms(pct(&cumulative.hist, 50.0)).to_string();
            let min = if cumulative.hist.is_empty() {
                0
            } else {
                cumulative.hist.min()
            };
            (percentiles(Some(&cumulative)), median, ms(min as f64))
        } else {
            (percentiles(None), "N/A".into(), "N/A".into())
        };
        let avg = if requests > 0 {
            sum_us / requests as f64
        } else {
            0.0
        };
        let avg_bytes = if requests > 0 {
            bytes as f64 / requests as f64
        } else {
            0.0
        };
        writeln!(
            out,
            "{},{},,Aggregated,{:.6},{:.6},{pcts},{requests},{failures},{median},{},{min},{},{}",
            m.start_unix + p.second + 1,
            p.users,
            p.requests as f64,
            p.failures as f64,
            ms(avg),
            ms(max_us as f64),
            py(avg_bytes),
        )?;
    }
    Ok(())
}

/// Each distinct error with its count and, as Locust 2.47 writes them, when it
/// was first and last seen (UTC, to the second; empty when unknown).
pub fn write_failures(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{FAILURES_HEADER}")?;
    let at = |second: Option<u64>| {
        second.map_or_else(String::new, |s| {
            clock::rfc3339(UNIX_EPOCH + Duration::from_secs(m.start_unix + s))
        })
    };
    for e in &m.summary.errors {
        // The kind leads the message (`[tls] ...`): Locust's columns, loadgen's classes.
        writeln!(
            out,
            "{},{},{},{},{},{}",
            field(&e.method),
            field(&e.name),
            field(&format!("[{}] {}", e.kind, e.message)),
            e.count,
            at(e.first_second),
            at(e.last_second),
        )?;
    }
    Ok(())
}

/// The percentile of a whole-run histogram in Locust's unit, for tests and other formats.
pub fn locust_ms(hist: &hdrhistogram::Histogram<u64>, p: f64) -> u64 {
    whole_ms(hdr::percentile(hist, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_like_python() {
        assert_eq!(field("GET"), "GET");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(py(12.0), "12.0");
        assert_eq!(py(0.25), "0.25");
    }

    #[test]
    fn headers_have_locusts_column_counts() {
        assert_eq!(STATS_HEADER.split(',').count(), 22);
        assert_eq!(HISTORY_HEADER.split(',').count(), 24);
        assert_eq!(FAILURES_HEADER.split(',').count(), 6);
    }
}
