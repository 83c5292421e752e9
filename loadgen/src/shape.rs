//! Load shapes as data: stages of (target users, seconds), the four named shapes,
//! scaling, exact splitting across workers, and the goose test plan they map to.

use crate::duration::{fmt_secs, parse_secs};
use serde::{Deserialize, Serialize};

/// Reach `users` linearly over `secs`, starting from the previous stage's users
/// (0 before the first stage). A stage with the previous stage's users is a hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub users: u64,
    pub secs: u64,
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

/// A named plan of users over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub name: String,
    pub stages: Vec<Stage>,
    /// Present for shapes that end themselves when the target breaks (stress).
    pub stop: Option<StopRules>,
}

/// A level of users that the shape ramps to and then holds: one step of a stress run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub users: u64,
    /// When the ramp to this level starts, in seconds from the start.
    pub start_secs: u64,
    /// When the hold at this level starts (the ramp has ended).
    pub hold_secs: u64,
    pub end_secs: u64,
}

/// The names `Shape::named` knows, for help and errors.
pub const NAMES: [&str; 4] = ["stages", "stress", "soak", "spike"];

impl Shape {
    fn new(name: &str, stages: Vec<Stage>) -> Shape {
        Shape {
            name: name.to_string(),
            stages,
            stop: None,
        }
    }

    /// Steps of 20% up to `peak` (ramp 60 s, hold 60 s each), then a 5 minute hold at the peak.
    pub fn stages(peak: u64) -> Shape {
        let mut stages = Vec::new();
        for i in 1..=5u64 {
            stages.push(Stage {
                users: peak * i / 5,
                secs: 60,
            });
            stages.push(Stage {
                users: peak * i / 5,
                secs: if i == 5 { 300 } else { 60 },
            });
        }
        Shape::new("stages", stages)
    }

    /// Raises users in 20 steps up to `max` (ramp 10 s, hold 20 s each) until a stop rule fires.
    pub fn stress(max: u64) -> Shape {
        let mut stages = Vec::new();
        for i in 1..=20u64 {
            stages.push(Stage {
                users: max * i / 20,
                secs: 10,
            });
            stages.push(Stage {
                users: max * i / 20,
                secs: 20,
            });
        }
        Shape {
            stop: Some(StopRules::default()),
            ..Shape::new("stress", stages)
        }
    }

    /// Ramps to `users` over 5 minutes and holds them for `hold_secs` (hours by default).
    pub fn soak(users: u64, hold_secs: u64) -> Shape {
        Shape::new(
            "soak",
            vec![
                Stage { users, secs: 300 },
                Stage {
                    users,
                    secs: hold_secs,
                },
            ],
        )
    }

    /// A steady baseline, a burst to 10x within 5 s, a hold, the drop, and a recovery window.
    pub fn spike(peak: u64) -> Shape {
        let base = (peak / 10).max(1);
        Shape::new(
            "spike",
            vec![
                Stage {
                    users: base,
                    secs: 30,
                },
                Stage {
                    users: base,
                    secs: 60,
                },
                Stage {
                    users: peak,
                    secs: 5,
                },
                Stage {
                    users: peak,
                    secs: 60,
                },
                Stage {
                    users: base,
                    secs: 5,
                },
                Stage {
                    users: base,
                    secs: 120,
                },
            ],
        )
    }

    /// `plan:"USERS,DUR;USERS,DUR;..."`, each step as in goose's test plans.
    pub fn parse_plan(text: &str) -> Result<Shape, String> {
        let mut stages = Vec::new();
        for (i, step) in text.split(';').enumerate() {
            let (users, secs) = step.split_once(',').ok_or_else(|| {
                format!(
                    "plan step {} '{step}' must be USERS,DURATION (e.g. 100,30s)",
                    i + 1
                )
            })?;
            let users = users.trim().parse::<u64>().map_err(|_| {
                format!(
                    "plan step {} '{step}': users '{}' is not a whole number",
                    i + 1,
                    users.trim()
                )
            })?;
            let secs =
                parse_secs(secs).map_err(|e| format!("plan step {} '{step}': {e}", i + 1))?;
            stages.push(Stage { users, secs });
        }
        let shape = Shape::new("plan", stages);
        shape.validate()?;
        Ok(shape)
    }

    /// The shape called `name` at its default size, or a `plan:` definition.
    pub fn named(name: &str) -> Result<Shape, String> {
        match name {
            "stages" => Ok(Shape::stages(10_000)),
            "stress" => Ok(Shape::stress(10_000)),
            "soak" => Ok(Shape::soak(1_000, 4 * 3600)),
            "spike" => Ok(Shape::spike(5_000)),
            _ => match name.strip_prefix("plan:") {
                Some(plan) => Shape::parse_plan(plan.trim_matches('"')),
                None => Err(format!(
                    "unknown shape '{name}': use one of {} or plan:\"USERS,DUR;...\"",
                    NAMES.join(", ")
                )),
            },
        }
    }

    /// A shape must start someone and last some time.
    pub fn validate(&self) -> Result<(), String> {
        if self.peak_users() == 0 {
            return Err(format!("shape '{}' never starts a user", self.name));
        }
        if self.total_secs() == 0 {
            return Err(format!("shape '{}' lasts 0 seconds", self.name));
        }
        Ok(())
    }

    pub fn total_secs(&self) -> u64 {
        self.stages.iter().map(|s| s.secs).sum()
    }

    pub fn peak_users(&self) -> u64 {
        self.stages.iter().map(|s| s.users).max().unwrap_or(0)
    }

    /// Planned users `t` seconds after the start (linear within a ramp).
    pub fn users_at(&self, t: f64) -> f64 {
        let (mut from, mut start) = (0.0, 0.0);
        for stage in &self.stages {
            let end = start + stage.secs as f64;
            if t < end {
                let frac = if stage.secs == 0 {
                    1.0
                } else {
                    (t - start) / stage.secs as f64
                };
                return from + (stage.users as f64 - from) * frac.clamp(0.0, 1.0);
            }
            from = stage.users as f64;
            start = end;
        }
        0.0
    }

    /// The first second at which the plan reaches its peak: the end of the ramp-up.
    pub fn ramp_up_secs(&self) -> u64 {
        let peak = self.peak_users();
        let mut t = 0;
        for stage in &self.stages {
            t += stage.secs;
            if stage.users == peak {
                return t;
            }
        }
        t
    }

    /// The levels this shape ramps to and holds, with their timings.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        let (mut t, mut prev) = (0, 0);
        for stage in &self.stages {
            let start = t;
            t += stage.secs;
            match steps.last_mut() {
                Some(step) if stage.users == prev => step.end_secs = t,
                _ => steps.push(Step {
                    users: stage.users,
                    start_secs: start,
                    hold_secs: t,
                    end_secs: t,
                }),
            }
            prev = stage.users;
        }
        steps
    }

    /// What is left of the plan `secs` into it, for a worker that takes over
    /// users mid-run: a 1 s ramp to the users planned at that moment, then the
    /// rest of the timeline.
    pub fn tail_from(&self, secs: u64) -> Shape {
        let mut stages = vec![Stage {
            users: self.users_at(secs as f64).round() as u64,
            secs: 1,
        }];
        let mut t = 0;
        let mut skip = 1;
        for stage in &self.stages {
            let end = t + stage.secs;
            if end > secs {
                let left = end - secs.max(t);
                let take = left.min(skip);
                skip -= take;
                stages.push(Stage {
                    users: stage.users,
                    secs: left - take,
                });
            }
            t = end;
        }
        stages.retain(|s| s.secs > 0 || s.users == 0);
        Shape {
            stages,
            ..self.clone()
        }
    }

    /// The same shape with its peak at `users` and its timeline stretched to `secs`.
    pub fn scaled(&self, users: Option<u64>, secs: Option<u64>) -> Shape {
        let mut shape = self.clone();
        if let Some(users) = users {
            let peak = self.peak_users().max(1);
            for stage in &mut shape.stages {
                // Round half up, but never scale a non-zero level down to nobody.
                let scaled = (stage.users * users * 2 + peak) / (peak * 2);
                stage.users = if stage.users > 0 && users > 0 {
                    scaled.max(1)
                } else {
                    scaled
                };
            }
        }
        if let Some(secs) = secs {
            let weights: Vec<u64> = self.stages.iter().map(|s| s.secs).collect();
            for (stage, s) in shape
                .stages
                .iter_mut()
                .zip(largest_remainder(secs, &weights))
            {
                stage.secs = s;
            }
        }
        shape
    }

    /// Splits the users of every stage across parts in proportion to `capacities`;
    /// at every stage the parts' users add up to the whole exactly.
    pub fn split(&self, capacities: &[u64]) -> Vec<Shape> {
        let mut parts: Vec<Shape> = capacities
            .iter()
            .map(|_| Shape {
                stages: vec![],
                ..self.clone()
            })
            .collect();
        for stage in &self.stages {
            for (part, users) in parts
                .iter_mut()
                .zip(largest_remainder(stage.users, capacities))
            {
                part.stages.push(Stage {
                    users,
                    secs: stage.secs,
                });
            }
        }
        parts
    }

    /// The goose test plan (`users,secs;...`), ending with every user stopped.
    pub fn goose_plan(&self) -> String {
        let mut plan: Vec<String> = self
            .stages
            .iter()
            .map(|s| format!("{},{}s", s.users, s.secs))
            .collect();
        plan.push("0,0s".into());
        plan.join(";")
    }

    /// One line per stage for people: `ramp to 2000 users over 1m`.
    pub fn describe_stage(&self, index: usize) -> String {
        let stage = self.stages[index];
        let prev = if index == 0 {
            0
        } else {
            self.stages[index - 1].users
        };
        let verb = match stage.users.cmp(&prev) {
            std::cmp::Ordering::Equal => "hold",
            std::cmp::Ordering::Greater => "ramp up to",
            std::cmp::Ordering::Less => "ramp down to",
        };
        format!("{verb} {} users over {}", stage.users, fmt_secs(stage.secs))
    }
}

/// Divides `total` in proportion to `weights` (Hamilton's method): whole shares
/// first, the rest one each to the largest remainders, ties to the lower index.
/// The result always sums to `total`; all-zero weights split evenly.
pub fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let even = vec![1; weights.len()];
    let weights = if weights.iter().all(|&w| w == 0) {
        &even[..]
    } else {
        weights
    };
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    let mut shares: Vec<u64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = total as u128 * w as u128;
        shares.push((exact / sum) as u64);
        remainders.push((exact % sum, i));
    }
    let left = total - shares.iter().sum::<u64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn named_shapes_are_valid_and_reach_their_peak() {
        for name in NAMES {
            let shape = Shape::named(name).unwrap();
            shape.validate().unwrap();
            assert!(shape.ramp_up_secs() <= shape.total_secs());
        }
        assert_eq!(Shape::named("stages").unwrap().peak_users(), 10_000);
        assert_eq!(Shape::named("stages").unwrap().total_secs(), 840);
        assert!(Shape::named("stress").unwrap().stop.is_some());
        let spike = Shape::named("spike").unwrap();
        assert_eq!(spike.peak_users(), 10 * spike.stages[0].users);
    }

    #[test]
    fn plan_parses_and_explains_bad_steps() {
        let shape = Shape::named("plan:\"10,5s;10,1m;0,5s\"").unwrap();
        assert_eq!(
            shape.stages,
            vec![
                Stage { users: 10, secs: 5 },
                Stage {
                    users: 10,
                    secs: 60
                },
                Stage { users: 0, secs: 5 }
            ]
        );
        assert!(Shape::parse_plan("10")
            .unwrap_err()
            .contains("USERS,DURATION"));
        assert!(Shape::parse_plan("x,5s")
            .unwrap_err()
            .contains("not a whole number"));
        assert!(Shape::parse_plan("10,5q")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(Shape::parse_plan("0,5s")
            .unwrap_err()
            .contains("never starts"));
        assert!(Shape::named("ramp")
            .unwrap_err()
            .contains("unknown shape 'ramp'"));
    }

    #[test]
    fn users_over_time_follow_the_ramps() {
        let shape = Shape::parse_plan("100,10s;100,10s;0,10s").unwrap();
        assert_eq!(shape.users_at(0.0), 0.0);
        assert_eq!(shape.users_at(5.0), 50.0);
        assert_eq!(shape.users_at(15.0), 100.0);
        assert_eq!(shape.users_at(25.0), 50.0);
        assert_eq!(shape.users_at(31.0), 0.0);
        assert_eq!(shape.ramp_up_secs(), 10);
        let steps = shape.steps();
        assert_eq!(
            steps[0],
            Step {
                users: 100,
                start_secs: 0,
                hold_secs: 10,
                end_secs: 20
            }
        );
    }

    #[test]
    fn scaling_keeps_the_form_and_hits_the_totals() {
        let shape = Shape::stages(10_000).scaled(Some(300), Some(90));
        assert_eq!(shape.peak_users(), 300);
        assert_eq!(shape.total_secs(), 90);
        assert_eq!(shape.stages[0].users, 60);
        assert_eq!(shape.goose_plan().split(';').next_back(), Some("0,0s"));
    }

    #[test]
    fn tail_resumes_where_the_plan_is() {
        let shape = Shape::parse_plan("100,10s;100,20s").unwrap();
        let tail = shape.tail_from(5);
        assert_eq!(tail.stages[0], Stage { users: 50, secs: 1 });
        assert_eq!(tail.total_secs(), 25);
        assert_eq!(tail.peak_users(), 100);
        assert_eq!(
            shape.tail_from(15).stages,
            vec![
                Stage {
                    users: 100,
                    secs: 1
                },
                Stage {
                    users: 100,
                    secs: 14
                }
            ]
        );
    }

    #[test]
    fn largest_remainder_is_exact_and_fair() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(7, &[2, 1]), vec![5, 2]);
        assert_eq!(largest_remainder(5, &[0, 0]), vec![3, 2]);
        assert_eq!(largest_remainder(0, &[3, 4]), vec![0, 0]);
    }

    #[test]
    fn property_split_preserves_totals_at_every_stage() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let stages = (0..rng.random_range(1..12))
                .map(|_| Stage {
                    users: rng.random_range(0..100_000),
                    secs: rng.random_range(0..600),
                })
                .collect();
            let shape = Shape {
                name: "p".into(),
                stages,
                stop: None,
            };
            let caps: Vec<u64> = (0..rng.random_range(1..40))
                .map(|_| rng.random_range(0..500))
                .collect();
            let parts = shape.split(&caps);
            assert_eq!(parts.len(), caps.len());
            for (i, stage) in shape.stages.iter().enumerate() {
                let sum: u64 = parts.iter().map(|p| p.stages[i].users).sum();
                assert_eq!(sum, stage.users);
                assert!(parts.iter().all(|p| p.stages[i].secs == stage.secs));
                let cap_sum: u64 = caps.iter().sum();
                if cap_sum > 0 {
                    // Each share is within one user of its exact proportion.
                    for (p, &c) in parts.iter().zip(&caps) {
                        let exact = stage.users as f64 * c as f64 / cap_sum as f64;
                        assert!((p.stages[i].users as f64 - exact).abs() < 1.0 + 1e-9);
                    }
                }
            }
        }
    }

    #[test]
    fn property_scaling_duration_is_exact() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..300 {
            let shape = Shape::spike(rng.random_range(10..50_000));
            let secs = rng.random_range(1..100_000);
            assert_eq!(shape.scaled(None, Some(secs)).total_secs(), secs);
        }
    }
}
