//! A run's live state, the same for a local run and a distributed manager: the
//! aggregator, the judges that may stop it early (`judge::live`) and its fault
//! actions (`faults::FaultRun`), advanced as each second closes.

use super::RunOutcome;
use crate::distributed::WorkerSummary;
use crate::faults::{FaultEvent, FaultRun};
use crate::judge::live::LiveJudges;
use crate::metrics::{Aggregator, FinalSecond, IntervalSnapshot};
use crate::plan::RunPlan;
use std::time::Instant;

pub struct LiveRun {
    pub aggregator: Aggregator,
    pub judges: LiveJudges,
    faults: FaultRun,
}

impl LiveRun {
    pub fn new(plan: &RunPlan) -> LiveRun {
        let shape = &plan.shape;
        let mut aggregator = Aggregator::new(LiveJudges::window_secs(shape));
        // Windowed rules naming a request are judged on its own series.
        for rule in plan.rules.iter().chain(&plan.abort_when) {
            if let (Some(_), Some(name)) = (rule.window_secs, &rule.name) {
                aggregator.watch(rule.method.as_deref(), name);
            }
        }
        LiveRun {
            aggregator,
            judges: LiveJudges::new(shape, &plan.rules, plan.abort_on_fail, &plan.abort_when),
            faults: FaultRun::new(&plan.faults, plan.out.clone()),
        }
    }

    /// Starts the run's clock for its fault actions (call once, at the run's start).
    pub fn start_clock(&mut self, started: Instant) {
        self.faults.start(started);
    }

    /// The faults so far, for the display.
    pub fn fault_events(&self) -> Vec<FaultEvent> {
        self.faults.events()
    }

    /// Why the run must stop early, once a judge said so.
    pub fn stopped_by(&self) -> Option<&str> {
        self.judges.stopped_by.as_deref()
    }

    /// Takes in a snapshot; `false` when its second is already closed (not taken).
    pub fn ingest(&mut self, snap: &IntervalSnapshot) -> bool {
        self.aggregator.ingest(snap)
    }

    /// Closes seconds up to `second` and judges them; `elapsed_secs` is the
    /// run's age, for rate rules. Returns the seconds closed.
    pub fn close_through(&mut self, second: u64, elapsed_secs: f64) -> Vec<FinalSecond> {
        let finalized = self.aggregator.finalize_through(second);
        self.judges
            .judge(&self.aggregator, &finalized, second, elapsed_secs);
        finalized
    }

    /// The run's outcome, once everything is closed: the fault actions end
    /// here (commands still running are stopped).
    pub async fn into_outcome(
        self,
        elapsed_secs: f64,
        interrupted: bool,
        workers: Vec<WorkerSummary>,
    ) -> RunOutcome {
        RunOutcome {
            breaking_point: self.judges.breaking_point(),
            stopped_by: self.judges.stopped_by,
            aborted: self.judges.aborted,
            aggregator: self.aggregator,
            elapsed_secs,
            interrupted,
            workers,
            faults: self.faults.finish().await,
        }
    }
}
