//! A person's changes to a running test, checked and applied to its live
//! plan: users (closed) or arrivals per second (open) over a ramp, pause and
//! resume, end the stage in progress. Each change is a mark on the run's
//! timeline, and a steered session is kept as the plan that replays it.

use crate::engine::steer::{Live, LivePlan};
use crate::shape::{limits, LoadModel, Shape};
use crate::units::fmt_secs;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// A change asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Users (closed model) or iterations per second (open), reached by a
    /// linear ramp over `ramp_secs` from wherever the run is, then held to
    /// the plan's end.
    Level {
        level: u64,
        ramp_secs: u64,
    },
    Pause,
    Resume,
    /// The stage in progress ends; the plan goes on with the next one.
    NextStage,
    /// The dashboard's + and -: a tenth more or less than planned now (at
    /// least one), at once.
    Nudge {
        up: bool,
    },
    /// The dashboard's p: pause if running, resume if paused.
    TogglePause,
}

/// A change that was made: a mark on the run's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlEvent {
    /// When it was asked, in seconds from the start.
    pub at_secs: f64,
    /// The run second it applies from.
    pub from_secs: u64,
    /// What changed, for people: `users 500 over 30s`, `paused`, ...
    pub what: String,
    /// Who asked: `dashboard` or `api`.
    pub by: String,
}

/// A steered session, as the run's summary keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Steered {
    pub controls: Vec<ControlEvent>,
    /// The session as a shape `loadgen run` takes (`plan:"..."` or `rate:"..."`).
    pub replay: String,
    /// The plan as steered (pauses not in it).
    pub shape: Shape,
}

/// Most changes one run keeps (each a line in its reports).
const MAX_CONTROLS: usize = 1000;
/// A change applies from the next whole second at least this far ahead, so
/// every generator (a distributed run's workers too) has it in time.
const LEAD_SECS: f64 = 0.3;

/// The run's steering wheel: shared by the dashboard and the control API.
#[derive(Clone)]
pub struct Steering {
    plan: LivePlan,
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    model: LoadModel,
    /// Why this run takes no changes at all (a stress run steers itself).
    locked: Option<String>,
    /// The most users (closed) or iterations per second (open) a change may ask.
    max_level: u64,
    max_why: String,
    events: Vec<ControlEvent>,
    /// Paused stretches, in whole run seconds (the last may be open).
    pauses: Vec<(u64, Option<u64>)>,
    ended: bool,
}

impl Steering {
    /// Steering for a run of `shape`: changes up to `max_level` (why that is
    /// the most in `max_why`); a stress run (its own stop rules) takes none.
    pub fn new(shape: &Shape, max_level: u64, max_why: &str) -> Steering {
        let locked = shape.stop.is_some().then(|| {
            "a stress run steers itself (it ramps until the target breaks): run a plan: or a named shape to steer".to_string()
        });
        Steering {
            plan: LivePlan::new(shape),
            inner: Arc::new(Mutex::new(Inner {
                model: shape.model,
                locked,
                max_level,
                max_why: max_why.to_string(),
                events: Vec::new(),
                pauses: Vec::new(),
                ended: false,
            })),
        }
    }

    /// The live plan the run's generators follow.
    pub fn plan(&self) -> &LivePlan {
        &self.plan
    }

    pub fn model(&self) -> LoadModel {
        self.lock().model
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds since the load started (`None` before).
    pub fn elapsed_secs(&self) -> Option<f64> {
        self.plan.started.get().map(|s| s.elapsed().as_secs_f64())
    }

    /// The load has ended: changes are refused from now on.
    pub fn end(&self) {
        self.lock().ended = true;
    }

    /// Applies `command` (asked by `by`); an error says why it was refused.
    pub fn apply(&self, command: &Command, by: &str) -> Result<ControlEvent, String> {
        let mut inner = self.lock();
        if let Some(why) = &inner.locked {
            return Err(why.clone());
        }
        if inner.ended {
            return Err("the run is over: nothing left to steer".into());
        }
        let Some(now) = self.elapsed_secs() else {
            return Err("the load has not started yet: try again in a moment".into());
        };
        if inner.events.len() >= MAX_CONTROLS {
            return Err(format!(
                "this run took {MAX_CONTROLS} changes already: no more"
            ));
        }
        let live = self.plan.now();
        let command = match command {
            Command::Nudge { up } => {
                let level = live.shape.level_at(now).round() as u64;
                let step = (level / 10).max(1);
                Command::Level {
                    level: if *up {
                        level.saturating_add(step).min(inner.max_level)
                    } else {
                        level.saturating_sub(step)
                    },
                    ramp_secs: 0,
                }
            }
            Command::TogglePause if live.paused => Command::Resume,
            Command::TogglePause => Command::Pause,
            other => other.clone(),
        };
        let from = (now + LEAD_SECS).ceil() as u64;
        let end = live.shape.total_secs();
        let unit = inner.model.unit();
        let (what, next) = match &command {
            Command::Level { level, ramp_secs } => {
                if from >= end {
                    return Err(format!(
                        "the plan ends at {}: too late to change it",
                        fmt_secs(end)
                    ));
                }
                if *level > inner.max_level {
                    return Err(format!(
                        "{level} {unit} is more than this run may have: {}",
                        inner.max_why
                    ));
                }
                limits::check_secs(*ramp_secs).map_err(|e| format!("ramp: {e}"))?;
                let shape = live.shape.steered(from, *level, *ramp_secs);
                let what = match ramp_secs {
                    0 => format!("{unit} {level} at once"),
                    r => format!("{unit} {level} over {}", fmt_secs(*r)),
                };
                (
                    what,
                    Live {
                        shape,
                        from_secs: from,
                        ..live
                    },
                )
            }
            Command::NextStage => {
                let shape = live
                    .shape
                    .stage_ended(from)
                    .ok_or("the plan is over: no stage left to end")?;
                let what = if shape.total_secs() <= from {
                    "last stage ended: the run ends".to_string()
                } else {
                    format!(
                        "stage ended (the plan now ends at {})",
                        fmt_secs(shape.total_secs())
                    )
                };
                (
                    what,
                    Live {
                        shape,
                        from_secs: from,
                        ..live
                    },
                )
            }
            Command::Pause => {
                if live.paused {
                    return Err("the run is paused already".into());
                }
                inner.pauses.push((now.round() as u64, None));
                (
                    "paused".to_string(),
                    Live {
                        paused: true,
                        ..live
                    },
                )
            }
            Command::Resume => {
                if !live.paused {
                    return Err("the run is not paused".into());
                }
                if let Some(last) = inner.pauses.last_mut() {
                    last.1 = Some((now.round() as u64).max(last.0));
                }
                (
                    "resumed".to_string(),
                    Live {
                        paused: false,
                        ..live
                    },
                )
            }
            Command::Nudge { .. } | Command::TogglePause => {
                return Err("this change was not resolved against the plan".into())
            }
        };
        self.plan.tx.send_replace(next);
        let event = ControlEvent {
            at_secs: (now * 10.0).round() / 10.0,
            from_secs: from,
            what,
            by: by.to_string(),
        };
        inner.events.push(event.clone());
        Ok(event)
    }

    /// Why this run takes no changes, if it takes none.
    pub fn locked(&self) -> Option<String> {
        self.lock().locked.clone()
    }

    pub fn events(&self) -> Vec<ControlEvent> {
        self.lock().events.clone()
    }

    /// The session so far, if anything was changed: its marks, the plan as
    /// steered, and the plan that replays it up to `end_secs` (pauses as
    /// stretches of nobody).
    pub fn session(&self, end_secs: f64) -> Option<Steered> {
        let inner = self.lock();
        if inner.events.is_empty() {
            return None;
        }
        let end = end_secs.round() as u64;
        let live = self.plan.now();
        let pauses: Vec<(u64, u64)> = inner
            .pauses
            .iter()
            .map(|&(a, b)| (a, b.unwrap_or(end).min(end)))
            .collect();
        let mut replay = live.shape.with_pauses(&pauses);
        replay.stages = replay.until(end.min(replay.total_secs()));
        Some(Steered {
            controls: inner.events.clone(),
            replay: replay.as_plan_text(),
            shape: live.shape,
        })
    }
}

/// Most users goose runs in one process (its test plans' own bound).
pub const GOOSE_MAX_USERS: u64 = 100_000;

/// The most a change may ask in this run: the run's own ceiling, and why.
/// `files`: the connections this process may open, for a local run whose
/// users run here (`None` for a manager, whose workers hold them).
pub fn ceiling(model: LoadModel, max_users: Option<u64>, files: Option<u64>) -> (u64, String) {
    match model {
        LoadModel::Closed => {
            let mut max = limits::MAX_USERS;
            let mut why = format!("a run has at most {max} users");
            if files.is_some() {
                (max, why) = (
                    GOOSE_MAX_USERS,
                    format!("one process runs at most {GOOSE_MAX_USERS} users (use --processes)"),
                );
            }
            if let Some(m) = max_users.filter(|&m| m < max) {
                (max, why) = (m, format!("--max-users is {m}"));
            }
            if let Some(f) = files.filter(|&f| f < max) {
                (max, why) = (
                    f,
                    format!(
                        "the open-file limit leaves room for {f} connections (raise `ulimit -n`)"
                    ),
                );
            }
            (max, why)
        }
        LoadModel::Open => (
            limits::MAX_RATE,
            format!("a run starts at most {} iterations/s", limits::MAX_RATE),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn started(shape: &str, max: u64) -> Steering {
        let steering = Steering::new(&Shape::named(shape).unwrap(), max, "test ceiling");
        steering
            .plan()
            .started
            .set(Instant::now() - std::time::Duration::from_millis(2_500))
            .unwrap();
        steering
    }

    #[test]
    fn a_new_level_applies_from_the_next_second_and_is_held() {
        let s = started("plan:100,10s;100,50s", 1000);
        let event = s
            .apply(
                &Command::Level {
                    level: 300,
                    ramp_secs: 10,
                },
                "api",
            )
            .unwrap();
        assert_eq!(event.from_secs, 3);
        assert_eq!(event.what, "users 300 over 10s");
        let live = s.plan().now();
        assert_eq!(live.from_secs, 3);
        assert_eq!(live.shape.level_at(13.0), 300.0);
        assert_eq!(live.shape.total_secs(), 60);
    }

    #[test]
    fn the_dashboard_nudges_by_a_tenth_and_toggles_the_pause() {
        let s = started("plan:100,1s;100,59s", 1000);
        s.apply(&Command::Nudge { up: true }, "dashboard").unwrap();
        assert_eq!(s.plan().now().shape.level_at(30.0), 110.0);
        s.apply(&Command::TogglePause, "dashboard").unwrap();
        assert!(s.plan().now().paused);
        s.apply(&Command::TogglePause, "dashboard").unwrap();
        assert!(!s.plan().now().paused);
        let small = started("plan:3,1s;3,59s", 1000);
        small
            .apply(&Command::Nudge { up: false }, "dashboard")
            .unwrap();
        assert_eq!(small.plan().now().shape.level_at(30.0), 2.0);
    }

    #[test]
    fn refusals_say_why() {
        let s = started("plan:100,10s;100,50s", 1000);
        let too_many = Command::Level {
            level: 1001,
            ramp_secs: 0,
        };
        assert!(s
            .apply(&too_many, "api")
            .unwrap_err()
            .contains("test ceiling"));
        assert!(s
            .apply(&Command::Resume, "api")
            .unwrap_err()
            .contains("not paused"));
        s.apply(&Command::Pause, "api").unwrap();
        assert!(s
            .apply(&Command::Pause, "api")
            .unwrap_err()
            .contains("already"));
        let stress = Steering::new(&Shape::named("stress").unwrap(), 1000, "x");
        assert!(stress
            .apply(&Command::Pause, "api")
            .unwrap_err()
            .contains("stress"));
        let before = Steering::new(&Shape::named("stages").unwrap(), 1000, "x");
        assert!(before
            .apply(&Command::Pause, "api")
            .unwrap_err()
            .contains("not started"));
        s.end();
        assert!(s
            .apply(&Command::Resume, "api")
            .unwrap_err()
            .contains("over"));
    }

    #[test]
    fn the_session_replays_as_a_plan_with_its_pauses() {
        let s = started("plan:10,10s;10,50s", 1000);
        assert!(
            s.session(60.0).is_none(),
            "nothing steered, nothing to replay"
        );
        s.apply(
            &Command::Level {
                level: 20,
                ramp_secs: 0,
            },
            "dashboard",
        )
        .unwrap();
        let session = s.session(30.0).unwrap();
        let replay = Shape::named(&session.replay).unwrap();
        assert_eq!(replay.total_secs(), 30);
        assert_eq!(replay.level_at(1.0), 1.0);
        assert_eq!(replay.level_at(2.5).round(), 3.0);
        assert_eq!(replay.level_at(3.0), 20.0);
        assert_eq!(replay.level_at(29.0), 20.0);
        assert_eq!(session.controls.len(), 1);
    }

    #[test]
    fn the_ceiling_is_the_tightest_bound() {
        let (max, why) = ceiling(LoadModel::Closed, Some(500), Some(9_000));
        assert_eq!((max, why.as_str()), (500, "--max-users is 500"));
        let (max, why) = ceiling(LoadModel::Closed, None, Some(9_000));
        assert_eq!(max, 9_000);
        assert!(why.contains("ulimit"));
        assert_eq!(ceiling(LoadModel::Open, None, None).0, limits::MAX_RATE);
    }
}
