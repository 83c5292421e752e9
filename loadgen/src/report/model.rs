//! What every report reads: the summary, its histograms decoded, and the
//! per-second totals of `latency.hlog` when the run folder has one.

use super::{hlog, Error};
use crate::metrics::{hdr, EndpointStats};
use crate::summary::{EndpointRow, Summary};
use hdrhistogram::Histogram;
use std::path::Path;

pub struct Model<'a> {
    pub summary: &'a Summary,
    pub total: EndpointStats,
    /// Each endpoint's row with its decoded histogram, sorted as Locust sorts (name, method).
    pub endpoints: Vec<(&'a EndpointRow, EndpointStats)>,
    /// Each second's merged histogram of all endpoints, from `latency.hlog`.
    pub seconds: Option<Vec<(u64, Histogram<u64>)>>,
    /// The run's start in seconds since the Unix epoch.
    pub start_unix: u64,
}

impl<'a> Model<'a> {
    /// The model of `summary`; `dir` is searched for `latency.hlog`.
    pub fn new(summary: &'a Summary, dir: &Path) -> Result<Model<'a>, Error> {
        let (total, mut by_key) = summary.stats().map_err(Error::Summary)?;
        let mut endpoints: Vec<(&EndpointRow, EndpointStats)> = summary
            .endpoints
            .iter()
            .map(|row| {
                let key = crate::metrics::EndpointKey {
                    method: row.method.clone(),
                    name: row.name.clone(),
                };
                let stats = by_key.remove(&key).unwrap_or_default();
                (row, stats)
            })
            .collect();
        endpoints.sort_by(|a, b| (&a.0.name, &a.0.method).cmp(&(&b.0.name, &b.0.method)));
        let seconds = hlog::read_dir(dir)?.map(|intervals| {
            intervals
                .into_iter()
                .filter(|i| i.tag.is_none())
                .map(|i| (i.start_secs, i.hist))
                .collect()
        });
        Ok(Model {
            summary,
            total,
            endpoints,
            seconds,
            start_unix: parse_rfc3339(&summary.started_at).unwrap_or(0),
        })
    }

    /// The model without looking for an hlog (for tests and in-memory rendering).
    pub fn without_hlog(summary: &'a Summary) -> Result<Model<'a>, Error> {
        let mut model = Model::new(summary, Path::new("/nonexistent-loadgen-dir"))?;
        model.seconds = None;
        Ok(model)
    }
}

/// The value at `p` of a histogram, 0 when it is empty (one rule for every format).
pub fn pct(hist: &Histogram<u64>, p: f64) -> u64 {
    hdr::percentile(hist, p)
}

/// `2026-11-24T20:15:03Z` as seconds since the epoch (UTC only, as `clock` writes it).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Howard Hinnant's days-from-civil, the inverse of `clock`'s.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_inverts_clock() {
        for secs in [0, 951_782_400, 1_795_551_303] {
            let text = crate::clock::rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
            assert_eq!(parse_rfc3339(&text), Some(secs), "{text}");
        }
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
