//! Load shapes as data: stages of (level, seconds) and what they tell. A level
//! is users in a closed shape (users loop with think time) and iterations
//! started per second in an open shape (arrivals, whatever the target does).
//!
//! - here: [`Stage`], [`Shape`], [`StopRules`], [`Step`], and queries over time.
//! - [`named`]: the four named shapes and `plan:` definitions.
//! - [`split`]: scaling, exact splitting across workers, resuming mid-plan.
//! - [`print`]: the plan as a table and a users-over-time plot.
//! - [`steer`]: edits of a running plan (a new level, a stage ended, pauses) and its text.
//! - [`limits`]: the most users, arrivals per second and time a run may have.

pub mod limits;
pub mod named;
pub mod print;
pub mod split;
pub mod steer;

pub use named::NAMES;
pub use split::largest_remainder;

use serde::{Deserialize, Serialize};

/// Reach `level` linearly over `secs`, starting from the previous stage's level
/// (0 before the first stage). A stage with the previous stage's level is a hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Users (closed shape) or iterations per second (open shape).
    #[serde(alias = "users")]
    pub level: u64,
    pub secs: u64,
}

/// What a shape's levels count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadModel {
    /// Users: each loops through its tasks with think time (Locust, goose).
    #[default]
    Closed,
    /// Arrivals: iterations started per second, whatever the target does (k6's
    /// arrival rate, wrk2); latency is timed from each arrival's due time.
    Open,
}

impl LoadModel {
    /// What a level counts, for people: `users` or `iterations/s`.
    pub fn unit(self) -> &'static str {
        match self {
            LoadModel::Closed => "users",
            LoadModel::Open => "iterations/s",
        }
    }
}

/// When a stress run should stop: judged every second on the live aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopRules {
    /// Error rate (0..1) over the window above which the system is broken.
    pub max_error_rate: f64,
    /// P99 over the window above which the system is broken, in microseconds.
    pub max_p99_us: u64,
    /// Smallest relative RPS growth from one step to the next that counts as growth.
    pub min_growth: f64,
    /// The trailing window, in seconds, the error rate and P99 are judged over.
    pub window_secs: u64,
}

impl Default for StopRules {
    fn default() -> Self {
        StopRules {
            max_error_rate: 0.01,
            max_p99_us: 1_000_000,
            min_growth: 0.05,
            window_secs: 10,
        }
    }
}

/// A named plan of users (or arrivals per second) over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub name: String,
    /// Closed (levels are users) or open (levels are iterations per second).
    #[serde(default)]
    pub model: LoadModel,
    pub stages: Vec<Stage>,
    /// Present for shapes that end themselves when the target breaks (stress).
    pub stop: Option<StopRules>,
}

/// A level the shape ramps to and then holds: one step of a stress run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    #[serde(alias = "users")]
    pub level: u64,
    /// When the ramp to this level starts, in seconds from the start.
    pub start_secs: u64,
    /// When the hold at this level starts (the ramp has ended).
    pub hold_secs: u64,
    pub end_secs: u64,
}

impl Shape {
    pub(crate) fn new(name: &str, stages: Vec<Stage>) -> Shape {
        Shape {
            name: name.to_string(),
            model: LoadModel::Closed,
            stages,
            stop: None,
        }
    }

    /// A shape must start someone, last some time, and stay within `limits`.
    pub fn validate(&self) -> Result<(), String> {
        if self.peak() == 0 {
            return Err(match self.model {
                LoadModel::Closed => format!("shape '{}' never starts a user", self.name),
                LoadModel::Open => format!("shape '{}' never starts an iteration", self.name),
            });
        }
        let name = &self.name;
        limits::check_level(self.model, self.peak()).map_err(|e| format!("shape '{name}': {e}"))?;
        let total = limits::total_secs(self.stages.iter().map(|s| s.secs))
            .map_err(|e| format!("shape '{name}': {e}"))?;
        if total == 0 {
            return Err(format!("shape '{name}' lasts 0 seconds"));
        }
        Ok(())
    }

    /// The same shape as an open model peaking at `rate` iterations per second
    /// (a closed shape's users become rates in the same proportions).
    pub fn opened(&self, rate: u64) -> Shape {
        Shape {
            model: LoadModel::Open,
            ..self.scaled(Some(rate), None)
        }
    }

    /// The planned length (saturating: `validate` refuses a shape past `limits::MAX_SECS`).
    pub fn total_secs(&self) -> u64 {
        self.stages
            .iter()
            .fold(0u64, |t, s| t.saturating_add(s.secs))
    }

    pub fn peak(&self) -> u64 {
        self.stages.iter().map(|s| s.level).max().unwrap_or(0)
    }

    /// The planned level `t` seconds after the start (linear within a ramp).
    pub fn level_at(&self, t: f64) -> f64 {
        let (mut from, mut start) = (0.0, 0.0);
        for stage in &self.stages {
            let end = start + stage.secs as f64;
            if t < end {
                let frac = if stage.secs == 0 {
                    1.0
                } else {
                    (t - start) / stage.secs as f64
                };
                return from + (stage.level as f64 - from) * frac.clamp(0.0, 1.0);
            }
            from = stage.level as f64;
            start = end;
        }
        0.0
    }

    /// The first second at which the plan reaches its peak: the end of the ramp-up.
    pub fn ramp_up_secs(&self) -> u64 {
        let peak = self.peak();
        let mut t: u64 = 0;
        for stage in &self.stages {
            t = t.saturating_add(stage.secs);
            if stage.level == peak {
                return t;
            }
        }
        t
    }

    /// The levels this shape ramps to and holds, with their timings.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        let (mut t, mut prev): (u64, u64) = (0, 0);
        for stage in &self.stages {
            let start = t;
            t = t.saturating_add(stage.secs);
            match steps.last_mut() {
                Some(step) if stage.level == prev => step.end_secs = t,
                _ => steps.push(Step {
                    level: stage.level,
                    start_secs: start,
                    hold_secs: t,
                    end_secs: t,
                }),
            }
            prev = stage.level;
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_over_time_follow_the_ramps() {
        let shape = Shape::parse_plan("100,10s;100,10s;0,10s").unwrap();
        assert_eq!(shape.level_at(0.0), 0.0);
        assert_eq!(shape.level_at(5.0), 50.0);
        assert_eq!(shape.level_at(15.0), 100.0);
        assert_eq!(shape.level_at(25.0), 50.0);
        assert_eq!(shape.level_at(31.0), 0.0);
        assert_eq!(shape.ramp_up_secs(), 10);
        let steps = shape.steps();
        assert_eq!(
            steps[0],
            Step {
                level: 100,
                start_secs: 0,
                hold_secs: 10,
                end_secs: 20
            }
        );
    }
}
