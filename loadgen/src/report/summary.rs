//! `summary.json`: the run's complete, versioned record, computed from the HDR
//! histograms (which it carries, so any figure can be recomputed later).

use crate::client::{ConnectionModel, HttpMode};
use crate::distributed::WorkerSummary;
use crate::judge::live::Aborted;
use crate::judge::{BreakingPoint, FaultReport, RuleResult, Verdict};
use crate::metrics::{
    hdr, Aggregator, ConnectionFigures, EndpointFigures, EndpointKey, EndpointStats, ErrorCount,
    GeneratorFigures, RequestSeries, SecondPoint,
};
use crate::observe::server_series::ServerMetrics;
use crate::shape::Shape;
use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// 2: shape levels are `level` (users, or iterations/s in an open shape) and
/// the shape says its model; version 1 files are read too (their `users` are levels).
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest version `read` accepts.
pub(crate) const OLDEST_READ: u32 = 1;

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
    pub errors: Vec<ErrorCount>,
    pub series: Vec<SecondPoint>,
    /// The per-second series of the requests windowed rules named
    /// (`p95<300ms for 30s for GET /books/{id}`); absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_series: Vec<RequestSeries>,
    pub thresholds: Vec<RuleResult>,
    pub verdict: Verdict,
    pub breaking_point: Option<BreakingPoint>,
    /// Per worker figures of a distributed run; empty for a local run.
    #[serde(default)]
    pub workers: Vec<WorkerSummary>,
    /// The users' connections (per-user model); null in the shared model,
    /// whose pool is goose's and not counted.
    #[serde(default)]
    pub connections: Option<ConnectionFigures>,
    /// The generator fell behind its schedule (late starts, or no CPU left):
    /// the figures understate latency. Why, in `generator.bound_by`.
    #[serde(default)]
    pub generator_bound: bool,
    #[serde(default)]
    pub generator: GeneratorFigures,
    /// The `--abort-when` rule that stopped the run, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_by: Option<Aborted>,
    /// Each `--at` action: what ran, and how the target recovered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultReport>,
    /// The target's own metrics, second by second, as `--scrape` read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerMetrics>,
    /// The requests by scenario (persona): a row each, as the endpoints'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<EndpointRow>,
    /// Tasks' own counters (`vu.count`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counters: Vec<CounterRow>,
    /// What a person should know about how the figures came to be (names
    /// folded past the cap, the rule a run without thresholds was judged by).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// When the run was steered (`--control`, the dashboard's keys): the
    /// changes, the plan as steered, and the plan that replays the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steered: Option<crate::control::steering::Steered>,
}

/// The run's configuration, as the plan had it.
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
    /// `--abort-when` rules as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abort_when: Vec<String>,
    /// `--think` as given: every user's pause between tasks, overriding the scenarios'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<String>,
    /// How users held connections: `per-user` or `shared` (summaries written
    /// before the per-user model existed read as `shared`).
    #[serde(default = "shared_pool")]
    pub connections: ConnectionModel,
    /// `--http` as given: auto, 1.1 or 2.
    #[serde(default)]
    pub http: HttpMode,
    /// `--insecure`: servers' certificates were not verified.
    #[serde(default)]
    pub insecure: bool,
    /// `--ca` files trusted beside the system's roots, and whether a client
    /// certificate was presented (`--client-cert`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca: Vec<String>,
    #[serde(default)]
    pub client_cert: bool,
    /// `--connect-to` routes as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect_to: Vec<String>,
    /// `--compress`: compressed answers asked for.
    #[serde(default)]
    pub compress: bool,
}

fn shared_pool() -> ConnectionModel {
    ConnectionModel::Shared
}

/// One row of the endpoints table: the endpoint, its figures (times in
/// microseconds), and its cumulative histogram.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndpointRow {
    pub method: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: EndpointFigures,
    pub clamped: u64,
    /// Answers by HTTP status (`"200": 1520`); absent before status counts existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, u64>,
    /// The cumulative histogram: HdrHistogram V2 (deflate), base64.
    pub hdr: String,
}

impl EndpointRow {
    pub fn new(method: &str, name: &str, s: &EndpointStats, secs: f64) -> EndpointRow {
        EndpointRow {
            method: method.into(),
            name: name.into(),
            figures: EndpointFigures::of(s, secs),
            clamped: s.clamped,
            statuses: s
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            hdr: hdr::to_base64(&s.hist),
        }
    }

    /// The stats again, from the stored histogram and counters.
    pub fn stats(&self) -> Result<EndpointStats, String> {
        let hist = if self.figures.requests == 0 {
            hdr::new_histogram()
        } else {
            hdr::from_base64(&self.hdr)?
        };
        let f = &self.figures;
        if hist.len() != f.requests {
            return Err(format!(
                "{} {}: histogram holds {} samples, requests says {}",
                self.method,
                self.name,
                hist.len(),
                f.requests
            ));
        }
        Ok(EndpointStats {
            hist,
            requests: f.requests,
            failures: f.failures,
            bytes: f.bytes,
            clamped: self.clamped,
            errors: BTreeMap::new(),
            service: None,
            statuses: self
                .statuses
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, *v)))
                .collect(),
        })
    }
}

/// A task's own counter over the run (`vu.count`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CounterRow {
    pub name: String,
    pub total: u64,
    /// `total` over the run's duration.
    pub per_sec: f64,
}

impl Summary {
    /// The total, each endpoint's row, and the errors of an aggregate over `secs`.
    pub fn endpoint_rows(
        agg: &Aggregator,
        secs: f64,
    ) -> (EndpointRow, Vec<EndpointRow>, Vec<ErrorCount>) {
        let total = EndpointRow::new("", "Aggregated", &agg.total, secs);
        let rows = agg
            .endpoints
            .iter()
            .map(|(k, s)| EndpointRow::new(&k.method, &k.name, s, secs))
            .collect();
        (total, rows, agg.errors())
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

    /// Writes `summary.json` whole or not at all (a temporary file, synced,
    /// then renamed; removed if anything fails).
    pub fn write(&self, dir: &Path) -> Result<std::path::PathBuf, Error> {
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        let path = dir.join("summary.json");
        let tmp = dir.join(".summary.json.tmp");
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Run(format!("cannot encode the summary: {e}")))?;
        let written = std::fs::File::create(&tmp).and_then(|mut file| {
            file.write_all(&json)?;
            file.sync_all()
        });
        written
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| {
                // Never a half-written file left behind, under any name.
                let _ = std::fs::remove_file(&tmp);
                Error::io(format!("cannot write {}", path.display()))(source)
            })?;
        Ok(path)
    }
}
