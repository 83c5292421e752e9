//! Shapes edited while they run: cut at a second, the rest from a second, a
//! new level from a second (held to the plan's end), the stage in progress
//! ended, and pauses spliced in as stretches of nobody (how a steered session
//! is replayed as a plan).

use super::{Shape, Stage};

impl Shape {
    /// The stages of the first `at` seconds: the stage in progress at `at` is
    /// cut there, at the level it had reached (rounded to a whole level).
    pub fn until(&self, at: u64) -> Vec<Stage> {
        let mut out = Vec::new();
        let mut t = 0;
        for stage in &self.stages {
            if t >= at {
                break;
            }
            let end = t + stage.secs;
            if end <= at {
                out.push(*stage);
            } else {
                out.push(Stage {
                    level: self.level_at(at as f64).round() as u64,
                    secs: at - t,
                });
            }
            t = end;
        }
        out
    }

    /// What the plan does from second `at` on, as a plan of its own: a jump
    /// to the level it has there, then the rest of the timeline (the stage in
    /// progress shortened). Followed from `at`, it goes on exactly as the
    /// whole plan would (`tail_from` instead eases a new worker in).
    pub fn rest_from(&self, at: u64) -> Shape {
        let mut stages = vec![Stage {
            level: self.level_at(at as f64).round() as u64,
            secs: 0,
        }];
        let mut t = 0;
        for stage in &self.stages {
            let end = t + stage.secs;
            if end > at {
                stages.push(Stage {
                    level: stage.level,
                    secs: end - at.max(t),
                });
            }
            t = end;
        }
        Shape {
            stages,
            ..self.clone()
        }
    }

    /// The plan steered at second `at`: from there a linear ramp to `level`
    /// over `ramp_secs`, then that level held to the plan's end (or, if the
    /// ramp outlasts it, to the ramp's end). What the plan had after `at` is
    /// replaced.
    pub fn steered(&self, at: u64, level: u64, ramp_secs: u64) -> Shape {
        let end = self.total_secs().max(at + ramp_secs);
        let mut stages = self.until(at);
        stages.push(Stage {
            level,
            secs: ramp_secs,
        });
        if end > at + ramp_secs {
            stages.push(Stage {
                level,
                secs: end - at - ramp_secs,
            });
        }
        Shape {
            stages,
            ..self.clone()
        }
    }

    /// The plan with the stage in progress at `at` ended there: the stages
    /// after it follow at once (the first ramping from where this one got
    /// to), so the plan ends sooner by what that stage had left. `None` when
    /// `at` is past the plan's end.
    pub fn stage_ended(&self, at: u64) -> Option<Shape> {
        let mut t = 0;
        let index = self.stages.iter().position(|s| {
            t += s.secs;
            t > at
        })?;
        let mut stages = self.until(at);
        stages.extend_from_slice(&self.stages[index + 1..]);
        Some(Shape {
            stages,
            ..self.clone()
        })
    }

    /// The plan with nobody in each of `pauses` (`[from, to)` seconds, in
    /// order, not overlapping): what a steered session that was paused looks
    /// like as a plan. The plan's own time runs on under a pause.
    pub fn with_pauses(&self, pauses: &[(u64, u64)]) -> Shape {
        let mut stages: Vec<Stage> = Vec::new();
        let mut from = 0;
        for &(a, b) in pauses {
            if b <= a || a < from {
                continue;
            }
            stages.extend(self.piece(from, a));
            stages.push(Stage { level: 0, secs: 0 });
            stages.push(Stage {
                level: 0,
                secs: b - a,
            });
            from = b;
        }
        stages.extend(self.piece(from, self.total_secs().max(from)));
        Shape {
            stages,
            ..self.clone()
        }
    }

    /// The stages of `[from, to)`, starting with a jump to the level at `from`
    /// (left out at 0, where a plan starts anyway).
    fn piece(&self, from: u64, to: u64) -> Vec<Stage> {
        if from == 0 {
            return self.until(to);
        }
        let rest = self.rest_from(from);
        let mut stages = rest.until(to - from);
        if stages.first().is_none_or(|s| s.secs > 0) {
            stages.insert(0, rest.stages[0]);
        }
        stages
    }

    /// The plan as `plan:"..."` (closed) or `rate:"..."` (open) text, which
    /// `loadgen run` takes back as a shape; zero-length holds are left out.
    pub fn as_plan_text(&self) -> String {
        let mut level = 0;
        let mut steps = Vec::new();
        for s in &self.stages {
            if s.secs == 0 && s.level == level {
                continue;
            }
            steps.push(format!("{},{}s", s.level, s.secs));
            level = s.level;
        }
        let kind = match self.model {
            super::LoadModel::Closed => "plan",
            super::LoadModel::Open => "rate",
        };
        format!("{kind}:\"{}\"", steps.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Shape {
        Shape::parse_plan(text).unwrap()
    }

    /// Users planned at every whole second of `[0, secs)`.
    fn levels(shape: &Shape, secs: u64) -> Vec<u64> {
        (0..secs)
            .map(|t| shape.level_at(t as f64).round() as u64)
            .collect()
    }

    #[test]
    fn until_cuts_the_stage_in_progress_at_its_level() {
        let shape = plan("100,10s;100,10s");
        assert_eq!(shape.until(5), vec![Stage { level: 50, secs: 5 }]);
        assert_eq!(shape.until(10), vec![shape.stages[0]]);
        assert_eq!(shape.until(100), shape.stages);
    }

    #[test]
    fn the_rest_goes_on_as_the_whole_plan_would() {
        let shape = plan("100,10s;100,10s;0,10s");
        for at in [0, 3, 10, 15, 29] {
            let rest = shape.rest_from(at);
            for t in at..30 {
                let whole = shape.level_at(t as f64);
                let tail = rest.level_at((t - at) as f64);
                assert!(
                    (whole - tail).abs() <= 0.5,
                    "at {at}, t {t}: {whole} vs {tail}"
                );
            }
            assert_eq!(rest.total_secs(), 30 - at);
        }
    }

    #[test]
    fn steering_ramps_to_the_new_level_and_holds_it_to_the_end() {
        let shape = plan("100,10s;100,50s");
        let steered = shape.steered(20, 300, 10);
        assert_eq!(steered.total_secs(), 60);
        assert_eq!(steered.level_at(20.0), 100.0);
        assert_eq!(steered.level_at(25.0), 200.0);
        assert_eq!(steered.level_at(30.0), 300.0);
        assert_eq!(steered.level_at(59.0), 300.0);
        // Steered again mid-ramp, and past the end: the ramp sets the end.
        let again = steered.steered(25, 0, 40);
        assert_eq!(again.level_at(25.0), 200.0);
        assert_eq!(again.total_secs(), 65);
    }

    #[test]
    fn ending_a_stage_moves_the_rest_forward() {
        let shape = plan("100,10s;100,30s;0,10s");
        let ended = shape.stage_ended(15).unwrap();
        assert_eq!(ended.total_secs(), 25);
        assert_eq!(levels(&ended, 25)[14], 100);
        assert_eq!(ended.level_at(20.0), 50.0);
        // Mid-ramp: the next stage ramps on from where it got to.
        let ended = shape.stage_ended(5).unwrap();
        assert_eq!(ended.level_at(5.0), 50.0);
        assert_eq!(ended.total_secs(), 45);
        assert!(shape.stage_ended(50).is_none());
    }

    #[test]
    fn pauses_become_stretches_of_nobody_and_the_plan_runs_on() {
        let shape = plan("100,10s;100,30s");
        let paused = shape.with_pauses(&[(5, 8), (20, 25)]);
        assert_eq!(paused.total_secs(), 40);
        let want: Vec<u64> = (0..40)
            .map(|t| match t {
                5..=7 | 20..=24 => 0,
                _ => shape.level_at(t as f64).round() as u64,
            })
            .collect();
        assert_eq!(levels(&paused, 40), want);
    }

    #[test]
    fn plan_text_reads_back_as_the_same_plan() {
        let shape = plan("100,10s;100,30s").with_pauses(&[(5, 8)]);
        let text = shape.as_plan_text();
        let back = Shape::named(&text).unwrap();
        assert_eq!(levels(&back, 40), levels(&shape, 40));
        let rate = Shape::parse_rate("50,10s").unwrap().steered(5, 10, 0);
        assert!(rate.as_plan_text().starts_with("rate:\""));
    }
}
