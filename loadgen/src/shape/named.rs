//! The four named shapes at their default sizes, and `plan:"USERS,DUR;..."`.

use super::{limits, LoadModel, Shape, Stage, StopRules};
use crate::units::parse_secs;

/// The names `Shape::named` knows, for help and errors.
pub const NAMES: [&str; 4] = ["stages", "stress", "soak", "spike"];

/// `steps` equal steps up to `peak`: each a ramp of `ramp` seconds and a hold
/// of `hold` seconds (`last_hold` for the top step).
fn steps_to(peak: u64, steps: u64, ramp: u64, hold: u64, last_hold: u64) -> Vec<Stage> {
    (1..=steps)
        .flat_map(|i| {
            let users = peak * i / steps;
            let hold = if i == steps { last_hold } else { hold };
            [
                Stage {
                    level: users,
                    secs: ramp,
                },
                Stage {
                    level: users,
                    secs: hold,
                },
            ]
        })
        .collect()
}

impl Shape {
    /// Steps of 20% up to `peak` (ramp 60 s, hold 60 s each), then a 5 minute hold at the peak.
    pub fn stages(peak: u64) -> Shape {
        Shape::new("stages", steps_to(peak, 5, 60, 60, 300))
    }

    /// Raises users in 20 steps up to `max` (ramp 10 s, hold 20 s each) until a stop rule fires.
    pub fn stress(max: u64) -> Shape {
        Shape {
            stop: Some(StopRules::default()),
            ..Shape::new("stress", steps_to(max, 20, 10, 20, 20))
        }
    }

    /// Ramps to `users` over 5 minutes and holds them for `hold_secs` (hours by default).
    pub fn soak(users: u64, hold_secs: u64) -> Shape {
        Shape::new(
            "soak",
            vec![
                Stage {
                    level: users,
                    secs: 300,
                },
                Stage {
                    level: users,
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
                    level: base,
                    secs: 30,
                },
                Stage {
                    level: base,
                    secs: 60,
                },
                Stage {
                    level: peak,
                    secs: 5,
                },
                Stage {
                    level: peak,
                    secs: 60,
                },
                Stage {
                    level: base,
                    secs: 5,
                },
                Stage {
                    level: base,
                    secs: 120,
                },
            ],
        )
    }

    /// `plan:"USERS,DUR;USERS,DUR;..."`, each step as in goose's test plans.
    pub fn parse_plan(text: &str) -> Result<Shape, String> {
        Shape::parse_steps("plan", LoadModel::Closed, text)
    }

    /// `rate:"RATE,DUR;RATE,DUR;..."`: iterations started per second, each
    /// rate reached by a linear ramp over its duration (the open model).
    pub fn parse_rate(text: &str) -> Result<Shape, String> {
        Shape::parse_steps("rate", LoadModel::Open, text)
    }

    fn parse_steps(name: &str, model: LoadModel, text: &str) -> Result<Shape, String> {
        let (what, example) = match model {
            LoadModel::Closed => ("USERS", "100,30s"),
            LoadModel::Open => ("RATE", "200,30s"),
        };
        let mut stages = Vec::new();
        for (i, step) in text.split(';').enumerate() {
            let (level, secs) = step.split_once(',').ok_or_else(|| {
                format!(
                    "{name} step {} '{step}' must be {what},DURATION (e.g. {example})",
                    i + 1
                )
            })?;
            let level = level.trim().parse::<u64>().map_err(|_| {
                format!(
                    "{name} step {} '{step}': {} '{}' is not a whole number",
                    i + 1,
                    what.to_lowercase(),
                    level.trim()
                )
            })?;
            let secs = parse_secs(secs)
                .and_then(|secs| limits::check_secs(secs).map(|()| secs))
                .and_then(|secs| limits::check_level(model, level).map(|()| secs))
                .map_err(|e| format!("{name} step {} '{step}': {e}", i + 1))?;
            stages.push(Stage { level, secs });
        }
        let shape = Shape {
            model,
            ..Shape::new(name, stages)
        };
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
                None => match name.strip_prefix("rate:") {
                    Some(rate) => Shape::parse_rate(rate.trim_matches('"')),
                    None => Err(format!(
                        "unknown shape '{name}': use one of {}, plan:\"USERS,DUR;...\" or rate:\"RATE,DUR;...\"",
                        NAMES.join(", ")
                    )),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_shapes_are_valid_and_reach_their_peak() {
        for name in NAMES {
            let shape = Shape::named(name).unwrap();
            shape.validate().unwrap();
            assert!(shape.ramp_up_secs() <= shape.total_secs());
        }
        assert_eq!(Shape::named("stages").unwrap().peak(), 10_000);
        assert_eq!(Shape::named("stages").unwrap().total_secs(), 840);
        assert!(Shape::named("stress").unwrap().stop.is_some());
        let spike = Shape::named("spike").unwrap();
        assert_eq!(spike.peak(), 10 * spike.stages[0].level);
    }

    #[test]
    fn plan_parses_and_explains_bad_steps() {
        let shape = Shape::named("plan:\"10,5s;10,1m;0,5s\"").unwrap();
        assert_eq!(
            shape.stages,
            vec![
                Stage { level: 10, secs: 5 },
                Stage {
                    level: 10,
                    secs: 60
                },
                Stage { level: 0, secs: 5 }
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
}
