//! What every report reads: the summary, its histograms decoded, and the
//! per-second totals of `latency.hlog` when the run folder has one.

use super::summary::{EndpointRow, Summary};
use super::{hlog, Error};
use crate::clock;
use crate::metrics::{hdr, EndpointStats};
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
            start_unix: clock::parse_rfc3339(&summary.started_at).unwrap_or(0),
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
