//! The verdict of a run: every threshold passed, and a stress run's breaking
//! point (if any) meets the throughput goal.

use super::rule::{Rule, RuleResult};
use super::stress::{below_goal, BreakingPoint};
use crate::judge::live::Aborted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub failed_rules: usize,
    /// A stress run whose last good step falls short of the rps goal.
    #[serde(default)]
    pub breaking_point_below_goal: Option<String>,
    /// The generator fell behind: its latency figures are lower than the truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures_understate_latency: Option<String>,
    /// An `--abort-when` rule stopped the run: it fails, whatever the thresholds say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

impl Verdict {
    /// Passed when every threshold passed and a stress run's breaking point
    /// (if any) meets the throughput goal.
    pub fn judge(
        thresholds: &[RuleResult],
        breaking_point: Option<&BreakingPoint>,
        rules: &[Rule],
    ) -> Verdict {
        let failed = thresholds.iter().filter(|r| !r.passed).count();
        let below = breaking_point.and_then(|bp| below_goal(bp, rules));
        Verdict {
            passed: failed == 0 && below.is_none(),
            failed_rules: failed,
            breaking_point_below_goal: below,
            figures_understate_latency: None,
            aborted: None,
        }
    }

    /// Fails the run an abort rule stopped, saying which and why.
    pub fn noting_abort(mut self, aborted: Option<&Aborted>) -> Verdict {
        if let Some(a) = aborted {
            self.passed = false;
            self.aborted = Some(format!("abort rule '{}' fired: {}", a.rule, a.why));
        }
        self
    }

    /// Says the figures understate latency when the generator was bound (the
    /// pass or fail stands: a latency rule that failed on understated figures
    /// failed all the more).
    pub fn noting_generator(mut self, bound_by: &[String]) -> Verdict {
        if !bound_by.is_empty() {
            self.figures_understate_latency = Some(format!(
                "the generator fell behind ({}): latency was at least as bad as these figures",
                bound_by.join("; ")
            ));
        }
        self
    }
}
