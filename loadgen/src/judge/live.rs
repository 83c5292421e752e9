//! The judges that may stop a run while it goes, judged as each second closes:
//! the stress stop rules, `--abort-on-fail` thresholds (whole-run rules after
//! the ramp-up, windowed rules on each second) and `--abort-when` rules.

use super::evaluate::Evidence;
use super::rule::{Metric, Rule};
use super::sustained::{self, Stretch};
use super::{BreakingPoint, StressDetector};
use crate::metrics::{Aggregator, FinalSecond};
use crate::shape::Shape;
use crate::units::fmt_secs;
use serde::{Deserialize, Serialize};

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

pub struct LiveJudges {
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
}

impl LiveJudges {
    /// The judges of a run of `shape` with these thresholds (`abort_on_fail`:
    /// judged live too) and `--abort-when` rules.
    pub fn new(
        shape: &Shape,
        rules: &[Rule],
        abort_on_fail: bool,
        abort_when: &[Rule],
    ) -> LiveJudges {
        let judged_live = |r: &&Rule| !r.is_throughput() && r.metric != Metric::Recovery;
        let (abort_windows, abort_rules) = if abort_on_fail {
            rules
                .iter()
                .filter(judged_live)
                .cloned()
                .partition(|r| r.window_secs.is_some())
        } else {
            (vec![], vec![])
        };
        LiveJudges {
            stress: shape
                .stop
                .map(|rules| StressDetector::new(rules, shape.steps())),
            abort_rules,
            abort_windows,
            abort_when: abort_when.to_vec(),
            ramp_up_secs: shape.ramp_up_secs(),
            stopped_by: None,
            aborted: None,
        }
    }

    /// The seconds the trailing window of `aggregator` must keep for them.
    pub fn window_secs(shape: &Shape) -> usize {
        shape.stop.map_or(10, |s| s.window_secs).max(10) as usize
    }

    /// Judges the seconds just closed (`finalized`, up to `second`);
    /// `elapsed_secs` is the run's age, for rate rules.
    pub fn judge(
        &mut self,
        aggregator: &Aggregator,
        finalized: &[FinalSecond],
        second: u64,
        elapsed_secs: f64,
    ) {
        for f in finalized {
            let Some(stress) = self.stress.as_mut() else {
                break;
            };
            let window = aggregator.window(stress.window_secs() as usize);
            if let Some(bp) = stress.observe(&f.point, &f.total, &window) {
                let reason = format!("breaking point: {}", bp.reason);
                self.stop(reason);
            }
        }
        if !finalized.is_empty() {
            self.judge_windows(aggregator);
        }
        if second + 1 >= self.ramp_up_secs && self.stopped_by.is_none() {
            let evidence = Evidence {
                total: &aggregator.total,
                endpoints: &aggregator.endpoints,
                secs: elapsed_secs,
                series: &aggregator.series,
                request_series: &aggregator.request_series,
                faults: &[],
                counters: &aggregator.counters,
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
    }

    /// The rules judged on each second: `--abort-when` fires when its condition
    /// held through its window; a windowed threshold under --abort-on-fail when
    /// it was broken through its window.
    fn judge_windows(&mut self, agg: &Aggregator) {
        if self.stopped_by.is_some() {
            return;
        }
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
