//! A run's live state, the same for a local run and a distributed manager: the
//! aggregator plus the judges that may stop the run early (stress stop rules,
//! `--abort-on-fail` thresholds).

use super::RunOutcome;
use crate::distributed::WorkerSummary;
use crate::judge::{BreakingPoint, Rule, StressDetector};
use crate::metrics::{Aggregator, FinalSecond, IntervalSnapshot};
use crate::shape::Shape;

pub struct LiveRun {
    pub aggregator: Aggregator,
    stress: Option<StressDetector>,
    /// Rules judged every second after the ramp-up (none without --abort-on-fail).
    abort_rules: Vec<Rule>,
    ramp_up_secs: u64,
    /// Why the run must stop early, once something said so.
    pub stopped_by: Option<String>,
}

impl LiveRun {
    pub fn new(shape: &Shape, rules: &[Rule], abort_on_fail: bool) -> LiveRun {
        let window = shape.stop.map_or(10, |s| s.window_secs).max(10) as usize;
        let abort_rules = if abort_on_fail {
            rules
                .iter()
                .filter(|r| !r.is_throughput())
                .cloned()
                .collect()
        } else {
            vec![]
        };
        LiveRun {
            aggregator: Aggregator::new(window),
            stress: shape
                .stop
                .map(|rules| StressDetector::new(rules, shape.steps())),
            abort_rules,
            ramp_up_secs: shape.ramp_up_secs(),
            stopped_by: None,
        }
    }

    pub fn ingest(&mut self, snap: &IntervalSnapshot) {
        self.aggregator.ingest(snap);
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
        if second + 1 >= self.ramp_up_secs && self.stopped_by.is_none() {
            let agg = &self.aggregator;
            let failed = self
                .abort_rules
                .iter()
                .map(|r| r.evaluate(&agg.total, &agg.endpoints, elapsed_secs))
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

    fn stop(&mut self, reason: String) {
        if self.stopped_by.is_none() {
            self.stopped_by = Some(reason);
        }
    }

    pub fn breaking_point(&self) -> Option<BreakingPoint> {
        self.stress.as_ref().and_then(|s| s.breaking_point.clone())
    }

    /// The run's outcome, once everything is closed.
    pub fn into_outcome(
        self,
        elapsed_secs: f64,
        interrupted: bool,
        workers: Vec<WorkerSummary>,
    ) -> RunOutcome {
        RunOutcome {
            breaking_point: self.breaking_point(),
            stopped_by: self.stopped_by,
            aggregator: self.aggregator,
            elapsed_secs,
            interrupted,
            workers,
        }
    }
}
