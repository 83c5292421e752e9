//! `summary.json`: the run's complete, versioned record, computed from the HDR
//! histograms (which it carries, so any figure can be recomputed later).

use crate::metrics::{hdr, Aggregator, EndpointKey, EndpointStats, FailureKind, SecondPoint};
use crate::shape::Shape;
use crate::stress::BreakingPoint;
use crate::threshold::RuleResult;
use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub tool_version: String,
    pub started_at: String,
    pub duration_secs: f64,
    /// Stopped by Ctrl-C or SIGTERM: the figures cover only the time run.
    pub interrupted: bool,
    /// Why the run ended before its plan did (a stop rule, a failed threshold).
    pub stopped_by: Option<String>,
    pub config: RunConfig,
    pub shape: Shape,
    pub total: EndpointRow,
    pub endpoints: Vec<EndpointRow>,
    pub errors: Vec<ErrorRow>,
    pub series: Vec<SecondPoint>,
    pub thresholds: Vec<RuleResult>,
    pub verdict: Verdict,
    pub breaking_point: Option<BreakingPoint>,
    /// Per worker figures of a distributed run; empty for a local run.
    #[serde(default)]
    pub workers: Vec<crate::distributed::WorkerSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    pub shape: String,
    pub host: String,
    pub bundled_target: bool,
    pub scenarios: Vec<String>,
    pub users: Option<u64>,
    pub duration_secs: Option<u64>,
    pub profile: String,
    pub rules: Vec<String>,
    pub abort_on_fail: bool,
    /// `--think` as given: every user's pause between tasks, overriding the scenarios'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub failed_rules: usize,
    /// A stress run whose last good step falls short of the rps goal.
    #[serde(default)]
    pub breaking_point_below_goal: Option<String>,
}

impl Verdict {
    /// Passed when every threshold passed and a stress run's breaking point
    /// (if any) meets the throughput goal.
    pub fn judge(
        thresholds: &[RuleResult],
        breaking_point: Option<&BreakingPoint>,
        rules: &[crate::threshold::Rule],
    ) -> Verdict {
        let failed = thresholds.iter().filter(|r| !r.passed).count();
        let below = breaking_point.and_then(|bp| crate::stress::below_goal(bp, rules));
        Verdict {
            passed: failed == 0 && below.is_none(),
            failed_rules: failed,
            breaking_point_below_goal: below,
        }
    }
}

/// One row of the endpoints table; times in microseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndpointRow {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub bytes: u64,
    pub clamped: u64,
    pub min_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub rps: f64,
    pub failures_per_sec: f64,
    pub avg_bytes: f64,
    /// The cumulative histogram: HdrHistogram V2 (deflate), base64.
    pub hdr: String,
}

impl EndpointRow {
    pub fn new(method: &str, name: &str, s: &EndpointStats, secs: f64) -> EndpointRow {
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        EndpointRow {
            method: method.into(),
            name: name.into(),
            requests: s.requests,
            failures: s.failures,
            bytes: s.bytes,
            clamped: s.clamped,
            min_us: if s.hist.is_empty() { 0 } else { s.hist.min() },
            max_us: if s.hist.is_empty() { 0 } else { s.hist.max() },
            mean_us: s.mean_us(),
            p50_us: s.percentile(50.0),
            p90_us: s.percentile(90.0),
            p95_us: s.percentile(95.0),
            p99_us: s.percentile(99.0),
            p999_us: s.percentile(99.9),
            rps: per_sec(s.requests),
            failures_per_sec: per_sec(s.failures),
            avg_bytes: if s.requests > 0 {
                s.bytes as f64 / s.requests as f64
            } else {
                0.0
            },
            hdr: hdr::to_base64(&s.hist),
        }
    }

    /// The stats again, from the stored histogram and counters.
    pub fn stats(&self) -> Result<EndpointStats, String> {
        let hist = if self.requests == 0 {
            hdr::new_histogram()
        } else {
            hdr::from_base64(&self.hdr)?
        };
        if hist.len() != self.requests {
            return Err(format!(
                "{} {}: histogram holds {} samples, requests says {}",
                self.method,
                self.name,
                hist.len(),
                self.requests
            ));
        }
        Ok(EndpointStats {
            hist,
            requests: self.requests,
            failures: self.failures,
            bytes: self.bytes,
            clamped: self.clamped,
            errors: BTreeMap::new(),
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorRow {
    pub method: String,
    pub name: String,
    pub kind: FailureKind,
    pub message: String,
    pub count: u64,
}

impl Summary {
    pub fn endpoint_rows(
        agg: &Aggregator,
        secs: f64,
    ) -> (EndpointRow, Vec<EndpointRow>, Vec<ErrorRow>) {
        let total = EndpointRow::new("", "Aggregated", &agg.total, secs);
        let rows = agg
            .endpoints
            .iter()
            .map(|(k, s)| EndpointRow::new(&k.method, &k.name, s, secs))
            .collect();
        let mut errors: Vec<ErrorRow> = agg
            .endpoints
            .iter()
            .flat_map(|(k, s)| {
                s.errors
                    .iter()
                    .map(move |((kind, message), count)| ErrorRow {
                        method: k.method.clone(),
                        name: k.name.clone(),
                        kind: *kind,
                        message: message.clone(),
                        count: *count,
                    })
            })
            .collect();
        errors.sort_by_key(|e| std::cmp::Reverse(e.count));
        (total, rows, errors)
    }

    /// Per-endpoint stats and the total, rebuilt from the stored histograms.
    pub fn stats(&self) -> Result<(EndpointStats, BTreeMap<EndpointKey, EndpointStats>), String> {
        let mut endpoints = BTreeMap::new();
        for row in &self.endpoints {
            endpoints.insert(
                EndpointKey {
                    method: row.method.clone(),
                    name: row.name.clone(),
                },
                row.stats()?,
            );
        }
        Ok((self.total.stats()?, endpoints))
    }

    pub fn read(path: &Path) -> Result<Summary, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        let summary: Summary = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{} is not a loadgen summary.json: {e}",
                path.display()
            ))
        })?;
        if summary.schema_version != SCHEMA_VERSION {
            return Err(Error::Usage(format!(
                "{}: schema_version {} is not supported (this loadgen reads {SCHEMA_VERSION})",
                path.display(),
                summary.schema_version
            )));
        }
        Ok(summary)
    }

    /// Writes `summary.json` whole or not at all (a temporary file, then rename).
    pub fn write(&self, dir: &Path) -> Result<std::path::PathBuf, Error> {
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        let path = dir.join("summary.json");
        let tmp = dir.join(".summary.json.tmp");
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Run(format!("cannot encode the summary: {e}")))?;
        std::fs::write(&tmp, json).map_err(Error::io(format!("cannot write {}", tmp.display())))?;
        std::fs::rename(&tmp, &path)
            .map_err(Error::io(format!("cannot write {}", path.display())))?;
        Ok(path)
    }
}
