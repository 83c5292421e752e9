//! The stress breaking-point detector: judges stop rules each second and names
//! the last good step and the failing one.

use crate::metrics::{EndpointStats, SecondPoint};
use crate::shape::{Step, StopRules};
use crate::units::fmt_us;
use serde::{Deserialize, Serialize};

/// How one step went: its level (users, or iterations/s in an open shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    #[serde(alias = "users")]
    pub level: u64,
    pub rps: f64,
    pub p99_us: u64,
    pub error_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakingPoint {
    pub reason: String,
    /// Second of the run at which the rule fired.
    pub second: u64,
    pub last_good: Option<StepResult>,
    pub failing: StepResult,
}

#[derive(Default, Clone)]
struct StepAcc {
    stats: EndpointStats,
    secs: u64,
    /// Whether these are hold seconds (the ramp's are dropped once the hold begins).
    holding: bool,
}

impl StepAcc {
    fn result(&self, level: u64) -> StepResult {
        StepResult {
            level,
            rps: self.stats.requests as f64 / self.secs.max(1) as f64,
            p99_us: self.stats.percentile(99.0),
            error_rate: self.stats.error_rate(),
        }
    }
}

/// Why a breaking point falls short of the run's throughput goal (its `rps`
/// rules over all requests), judged on the last good step; `None` when it
/// meets them or there is no such rule.
pub fn below_goal(bp: &BreakingPoint, rules: &[super::rule::Rule]) -> Option<String> {
    let rps = bp.last_good.as_ref().map_or(0.0, |g| g.rps);
    rules
        .iter()
        .filter(|r| r.is_throughput() && r.name.is_none())
        .find(|r| !r.holds(rps))
        .map(|r| {
            format!(
                "the last good step did {rps:.1} rps, short of the goal '{}'",
                r.text
            )
        })
}

pub struct StressDetector {
    rules: StopRules,
    steps: Vec<Step>,
    /// Per step: the hold part, or the whole step while it has no hold yet.
    acc: Vec<StepAcc>,
    pub breaking_point: Option<BreakingPoint>,
}

impl StressDetector {
    pub fn new(rules: StopRules, steps: Vec<Step>) -> StressDetector {
        let acc = vec![StepAcc::default(); steps.len()];
        StressDetector {
            rules,
            steps,
            acc,
            breaking_point: None,
        }
    }

    pub fn window_secs(&self) -> u64 {
        self.rules.window_secs
    }

    fn step_of(&self, second: u64) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| second >= s.start_secs && second < s.end_secs)
    }

    /// Feeds one finalized second; returns the breaking point the first time a rule fires.
    pub fn observe(
        &mut self,
        point: &SecondPoint,
        second_total: &EndpointStats,
        window: &EndpointStats,
    ) -> Option<&BreakingPoint> {
        if self.breaking_point.is_some() {
            return None;
        }
        let k = self.step_of(point.second)?;
        let step = self.steps[k];
        let in_hold = point.second >= step.hold_secs;
        if in_hold && !self.acc[k].holding {
            self.acc[k] = StepAcc {
                holding: true,
                ..StepAcc::default()
            };
        }
        let acc = &mut self.acc[k];
        acc.stats.merge(second_total);
        acc.secs += 1;

        let full_window = point.second + 1 >= self.rules.window_secs;
        let reason = if full_window
            && window.requests > 0
            && window.error_rate() > self.rules.max_error_rate
        {
            Some(format!(
                "error rate {:.2}% over the last {} s is above {:.2}%",
                window.error_rate() * 100.0,
                self.rules.window_secs,
                self.rules.max_error_rate * 100.0
            ))
        } else if full_window
            && window.requests > 0
            && window.percentile(99.0) > self.rules.max_p99_us
        {
            Some(format!(
                "P99 {} over the last {} s is above {}",
                fmt_us(window.percentile(99.0)),
                self.rules.window_secs,
                fmt_us(self.rules.max_p99_us)
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            let last_good = (k > 0).then(|| self.acc[k - 1].result(self.steps[k - 1].level));
            return self.fire(
                reason,
                point.second,
                last_good,
                self.acc[k].result(step.level),
            );
        }

        // At the end of a step: did throughput stop rising across the last two steps?
        if point.second + 1 == step.end_secs && k >= 2 {
            let rps = |i: usize| self.acc[i].result(self.steps[i].level).rps;
            let grew = |a: f64, b: f64| b >= a * (1.0 + self.rules.min_growth);
            if !grew(rps(k - 2), rps(k - 1)) && !grew(rps(k - 1), rps(k)) {
                let reason = format!(
                    "throughput stopped rising: {:.1} -> {:.1} -> {:.1} rps over the last two steps (needs +{:.0}% a step)",
                    rps(k - 2),
                    rps(k - 1),
                    rps(k),
                    self.rules.min_growth * 100.0
                );
                let last_good = Some(self.acc[k - 2].result(self.steps[k - 2].level));
                return self.fire(
                    reason,
                    point.second,
                    last_good,
                    self.acc[k].result(step.level),
                );
            }
        }
        None
    }

    fn fire(
        &mut self,
        reason: String,
        second: u64,
        last_good: Option<StepResult>,
        failing: StepResult,
    ) -> Option<&BreakingPoint> {
        self.breaking_point = Some(BreakingPoint {
            reason,
            second,
            last_good,
            failing,
        });
        self.breaking_point.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::FailureKind;
    use crate::shape::Shape;

    fn second(rps: u64, latency_us: u64, failures: u64) -> EndpointStats {
        let mut s = EndpointStats::default();
        for i in 0..rps {
            s.record(
                latency_us,
                0,
                (i < failures).then_some((FailureKind::Status, "HTTP 503")),
            );
        }
        s
    }

    /// Drives the detector over a plan of 10 s steps with the given per-second (rps, latency, failures).
    fn drive(shape: &Shape, at: impl Fn(usize) -> (u64, u64, u64)) -> Option<BreakingPoint> {
        let mut det = StressDetector::new(StopRules::default(), shape.steps());
        let mut window: Vec<EndpointStats> = Vec::new();
        for s in 0..shape.total_secs() {
            let (rps, lat, fail) = at(s as usize);
            let total = second(rps, lat, fail);
            window.push(total.clone());
            let mut w = EndpointStats::default();
            window.iter().rev().take(10).for_each(|x| w.merge(x));
            let point = SecondPoint::from_stats(s, 0, &total);
            if det.observe(&point, &total, &w).is_some() {
                break;
            }
        }
        det.breaking_point
    }

    fn plan() -> Shape {
        Shape::parse_plan("10,2s;10,8s;20,2s;20,8s;30,2s;30,8s;40,2s;40,8s;50,2s;50,8s").unwrap()
    }

    #[test]
    fn a_breaking_point_below_the_rps_goal_is_named() {
        let step = |rps| StepResult {
            level: 10,
            rps,
            p99_us: 1,
            error_rate: 0.0,
        };
        let bp = BreakingPoint {
            reason: "x".into(),
            second: 5,
            last_good: Some(step(800.0)),
            failing: step(900.0),
        };
        let rules = crate::judge::rules("reference-10k", &[]).unwrap();
        assert!(below_goal(&bp, &rules).unwrap().contains("800.0 rps"));
        let easy = crate::judge::rules("none", &["rps>=500".into()]).unwrap();
        assert_eq!(below_goal(&bp, &easy), None);
        assert_eq!(below_goal(&bp, &[]), None);
        let none_good = BreakingPoint {
            last_good: None,
            ..bp
        };
        assert!(below_goal(&none_good, &easy).is_some());
    }

    #[test]
    fn healthy_growth_never_breaks() {
        assert_eq!(
            drive(&plan(), |s| (10 * (s as u64 / 10 + 1), 1_000, 0)),
            None
        );
    }

    #[test]
    fn errors_break_and_name_the_steps() {
        let bp = drive(&plan(), |s| {
            let step = s as u64 / 10;
            (100 * (step + 1), 1_000, if step >= 3 { 50 } else { 0 })
        })
        .unwrap();
        assert!(bp.reason.contains("error rate"), "{}", bp.reason);
        assert_eq!(bp.failing.level, 40);
        assert_eq!(bp.last_good.unwrap().level, 30);
    }

    #[test]
    fn slow_p99_breaks() {
        let bp = drive(&plan(), |s| {
            (100, if s >= 25 { 2_000_000 } else { 1_000 }, 0)
        })
        .unwrap();
        assert!(bp.reason.contains("P99"), "{}", bp.reason);
    }

    #[test]
    fn flat_throughput_breaks_after_two_steps() {
        let bp = drive(&plan(), |s| (if s < 10 { 100 } else { 200 }, 1_000, 0)).unwrap();
        assert!(bp.reason.contains("stopped rising"), "{}", bp.reason);
        let good = bp.last_good.unwrap();
        assert_eq!((good.level, good.rps.round()), (20, 200.0));
        assert_eq!(bp.failing.level, 40);
    }
}
