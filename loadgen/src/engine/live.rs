//! A run's live state, the same for a local run and a distributed manager: the
//! aggregator, the judges that may stop the run early (stress stop rules,
//! `--abort-on-fail` thresholds, `--abort-when` rules) and the fault timeline
//! (`--at`).

use super::RunOutcome;
use crate::distributed::WorkerSummary;
use crate::faults::timeline::Timeline;
use crate::faults::{FaultAction, FaultEvent};
use crate::judge::rule::Metric;
use crate::judge::sustained::{self, Stretch};
use crate::judge::{BreakingPoint, Evidence, Rule, StressDetector};
use crate::metrics::{Aggregator, FinalSecond, IntervalSnapshot};
use crate::plan::RunPlan;
use crate::units::fmt_secs;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// An `--abort-when` rule that stopped the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aborted {
    pub rule: String,
    /// The second it fired in: the last of its window.
    pub second: u64,
    /// The first second of the stretch in which it held.
    pub from_second: u64,
    pub why: String,
}

pub struct LiveRun {
    pub aggregator: Aggregator,
    stress: Option<StressDetector>,
    /// Rules judged on the whole run every second after the ramp-up (none
    /// without --abort-on-fail).
    abort_rules: Vec<Rule>,
    /// --abort-on-fail thresholds with a window: judged each second, on the series.
    abort_windows: Vec<Rule>,
    /// --abort-when: fire when they held for their window.
    abort_when: Vec<Rule>,
    ramp_up_secs: u64,
    /// Why the run must stop early, once something said so.
    pub stopped_by: Option<String>,
    pub aborted: Option<Aborted>,
    faults: Vec<FaultAction>,
    folder: PathBuf,
    timeline: Option<Timeline>,
}

impl LiveRun {
    pub fn new(plan: &RunPlan) -> LiveRun {
        let shape = &plan.shape;
        let window = shape.stop.map_or(10, |s| s.window_secs).max(10) as usize;
        let judged_live = |r: &&Rule| !r.is_throughput() && r.metric != Metric::Recovery;
        let (abort_windows, abort_rules) = if plan.abort_on_fail {
            plan.rules
                .iter()
                .filter(judged_live)
                .cloned()
                .partition(|r| r.window_secs.is_some())
        } else {
            (vec![], vec![])
        };
        let mut aggregator = Aggregator::new(window);
        // Windowed rules naming a request are judged on its own series.
        for rule in plan.rules.iter().chain(&plan.abort_when) {
            if let (Some(_), Some(name)) = (rule.window_secs, &rule.name) {
                aggregator.watch(rule.method.as_deref(), name);
            }
        }
        LiveRun {
            aggregator,
            stress: shape
                .stop
                .map(|rules| StressDetector::new(rules, shape.steps())),
            abort_rules,
            abort_windows,
            abort_when: plan.abort_when.clone(),
            ramp_up_secs: shape.ramp_up_secs(),
            stopped_by: None,
            aborted: None,
            faults: plan.faults.clone(),
            folder: plan.out.clone(),
            timeline: None,
        }
    }

    /// Starts the run's clock for the fault timeline (call once, at the run's start).
    pub fn start_clock(&mut self, started: Instant) {
        if !self.faults.is_empty() && self.timeline.is_none() {
            self.timeline = Some(Timeline::start(&self.faults, started, &self.folder));
        }
    }

    /// The faults so far, for the display.
    pub fn fault_events(&self) -> Vec<FaultEvent> {
        self.timeline
            .as_ref()
            .map_or_else(Vec::new, Timeline::events)
    }

    /// Takes in a snapshot; `false` when its second is already closed (not taken).
    pub fn ingest(&mut self, snap: &IntervalSnapshot) -> bool {
        self.aggregator.ingest(snap)
    }

    /// Closes seconds up to `second` and judges them; `elapsed_secs` is the
    /// run's age, for rate rules. Returns the seconds closed.
    pub fn close_through(&mut self, second: u64, elapsed_secs: f64) -> Vec<FinalSecond> {
        let finalized = self.aggregator.finalize_through(second);
        for f in &finalized {
            let Some(stress) = self.stress.as_mut() else {
                break;
            };
            let window = self.aggregator.window(stress.window_secs() as usize);
            if let Some(bp) = stress.observe(&f.point, &f.total, &window) {
                let reason = format!("breaking point: {}", bp.reason);
                self.stop(reason);
            }
        }
        if !finalized.is_empty() {
            self.judge_windows();
        }
        if second + 1 >= self.ramp_up_secs && self.stopped_by.is_none() {
            let agg = &self.aggregator;
            let evidence = Evidence {
                total: &agg.total,
                endpoints: &agg.endpoints,
                secs: elapsed_secs,
                series: &agg.series,
                request_series: &agg.request_series,
                faults: &[],
            };
            let failed = self
                .abort_rules
                .iter()
                .map(|r| r.evaluate(&evidence))
                .find(|r| !r.passed && r.observed.is_some());
            if let Some(f) = failed {
                self.stop(format!(
                    "threshold '{}' failed: {} (limit {})",
                    f.rule, f.observed_text, f.limit_text
                ));
            }
        }
        finalized
    }

    /// The rules judged on each second: `--abort-when` fires when its condition
    /// held through its window; a windowed threshold under --abort-on-fail when
    /// it was broken through its window.
    fn judge_windows(&mut self) {
        if self.stopped_by.is_some() {
            return;
        }
        let agg = &self.aggregator;
        // Watched from the start, so a rule's series is always there.
        let trailing = |r: &Rule, held: bool| {
            let series = sustained::series_for(r, &agg.series, &agg.request_series)?;
            sustained::trailing(r, r.window_secs.unwrap_or(1), series, held)
        };
        let fired = self
            .abort_when
            .iter()
            .find_map(|r| trailing(r, true).map(|s| (r, s)));
        if let Some((rule, stretch)) = fired {
            let why = held(rule, &stretch, "held");
            self.aborted = Some(Aborted {
                rule: rule.text.clone(),
                second: stretch.last,
                from_second: stretch.first,
                why: why.clone(),
            });
            self.stop(format!("abort rule '{}' fired: {why}", rule.text));
            return;
        }
        let broken = self
            .abort_windows
            .iter()
            .find_map(|r| trailing(r, false).map(|s| (r, s)));
        if let Some((rule, stretch)) = broken {
            let why = held(rule, &stretch, "broken");
            self.stop(format!("threshold '{}' failed: {why}", rule.text));
        }
    }

    fn stop(&mut self, reason: String) {
        if self.stopped_by.is_none() {
            self.stopped_by = Some(reason);
        }
    }

    pub fn breaking_point(&self) -> Option<BreakingPoint> {
        self.stress.as_ref().and_then(|s| s.breaking_point.clone())
    }

    /// The run's outcome, once everything is closed: the fault timeline ends
    /// here (commands still running are stopped).
    pub async fn into_outcome(
        self,
        elapsed_secs: f64,
        interrupted: bool,
        workers: Vec<WorkerSummary>,
    ) -> RunOutcome {
        let breaking_point = self.breaking_point();
        let faults = match self.timeline {
            Some(t) => t.finish().await,
            None => Vec::new(),
        };
        RunOutcome {
            breaking_point,
            stopped_by: self.stopped_by,
            aborted: self.aborted,
            aggregator: self.aggregator,
            elapsed_secs,
            interrupted,
            workers,
            faults,
        }
    }
}

/// `in each second from 1m01s to 1m30s (30 s; the last 12.50%)`.
fn held(rule: &Rule, s: &Stretch, what: &str) -> String {
    format!(
        "{what} in each second from {} to {} ({} s; the last {})",
        fmt_secs(s.first),
        fmt_secs(s.last),
        s.seconds,
        rule.format(s.last_value)
    )
}
