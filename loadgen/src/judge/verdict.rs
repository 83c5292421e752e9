//! The verdict of a run: every threshold passed, and a stress run's breaking
//! point (if any) meets the throughput goal.

use super::rule::{Rule, RuleResult};
use super::stress::{below_goal, BreakingPoint};
use serde::{Deserialize, Serialize};

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
        rules: &[Rule],
    ) -> Verdict {
        let failed = thresholds.iter().filter(|r| !r.passed).count();
        let below = breaking_point.and_then(|bp| below_goal(bp, rules));
        Verdict {
            passed: failed == 0 && below.is_none(),
            failed_rules: failed,
            breaking_point_below_goal: below,
        }
    }
}
