//! What the dashboard shows, as plain data: a per-second snapshot sent by the run
//! and the model that accumulates them (no ratatui types here).

use crate::distributed::WorkerState;
use crate::metrics::{EndpointFigures, ErrorCount};
use crate::shape::Shape;

/// One finalized second, for the charts: the aggregator's own point.
pub use crate::metrics::SecondPoint as Point;

/// One endpoint over the whole run so far, as the Locust table shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EndpointLine {
    pub method: String,
    pub name: String,
    pub figures: EndpointFigures,
}

/// A threshold rule judged on the run so far.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleLine {
    pub rule: String,
    pub observed: String,
    pub limit: String,
    /// `None` while there is nothing to judge yet.
    pub passed: Option<bool>,
}

/// What a distributed manager knows of one worker; a local run has none.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerRow {
    pub name: String,
    pub state: WorkerState,
    pub users: u64,
    pub rps: f64,
    pub errors: u64,
}

/// One of the target's own series (`--scrape`), summed over its instances.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerLine {
    /// `in-flight`, `shed/s`, `limited/s`.
    pub name: String,
    /// `(second, value)` over the run so far.
    pub points: Vec<(u64, f64)>,
}

/// What the run sends once a second: seconds newly closed and current tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub elapsed_secs: f64,
    pub points: Vec<Point>,
    pub total: EndpointLine,
    pub endpoints: Vec<EndpointLine>,
    pub errors: Vec<ErrorCount>,
    pub rules: Vec<RuleLine>,
    pub workers: Vec<WorkerRow>,
    /// The users' connections open now (`None`: not counted, the shared pool).
    pub connections: Option<u64>,
    /// Open model: P99 so far from each request's send (the tables run from
    /// each arrival's due time), and arrivals dropped so far.
    pub service_p99_us: Option<u64>,
    pub dropped: Option<u64>,
    /// Why the generator is behind its schedule, once it is.
    pub generator_behind: Option<String>,
    /// Why the run is stopping early, once it is.
    pub stopping: Option<String>,
    /// The `--at` actions started so far: their second and their number (the
    /// one the console's lines about them carry, from 1 in command-line order).
    pub faults: Vec<(u64, usize)>,
    /// The target's own series, when --scrape reads them (else empty).
    pub server: Vec<ServerLine>,
    /// A steerable run: the plan as steered now.
    pub plan: Option<Shape>,
    pub paused: bool,
    /// The changes made so far: the second each applies from, and what it was.
    pub controls: Vec<(u64, String)>,
}

/// A stage of the plan, for the header.
#[derive(Clone, Debug, PartialEq)]
pub struct StageLine {
    pub start_secs: u64,
    pub end_secs: u64,
    pub text: String,
}

/// Everything the screens draw: the plan, fixed at the start, and what the
/// snapshots brought so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub shape_name: String,
    /// Levels are arrivals per second (open model), not users.
    pub open: bool,
    pub total_secs: u64,
    pub peak_users: u64,
    pub stages: Vec<StageLine>,
    /// The plan's users over time, as (second, users) corners of a line.
    pub plan: Vec<(f64, f64)>,
    pub history: Vec<Point>,
    pub latest: Snapshot,
    /// Snapshots received (0: the run has not ticked yet).
    pub ticks: u64,
    /// The latest lines the process printed while the dashboard was up.
    pub output: Vec<String>,
    /// The plan the stages and line were drawn from.
    pub shape: Option<Shape>,
}

impl Model {
    pub fn new(shape: &Shape) -> Model {
        let mut stages = Vec::with_capacity(shape.stages.len());
        let mut plan = vec![(0.0, 0.0)];
        let mut t = 0;
        for (i, stage) in shape.stages.iter().enumerate() {
            stages.push(StageLine {
                start_secs: t,
                end_secs: t + stage.secs,
                text: shape.describe_stage(i),
            });
            t += stage.secs;
            plan.push((t as f64, stage.level as f64));
        }
        Model {
            shape_name: shape.name.clone(),
            open: shape.model == crate::shape::LoadModel::Open,
            total_secs: shape.total_secs(),
            peak_users: shape.peak(),
            stages,
            plan,
            shape: Some(shape.clone()),
            ..Model::default()
        }
    }

    /// Takes in one snapshot: its seconds join the history, its tables replace the last.
    pub fn apply(&mut self, mut snap: Snapshot) {
        if let Some(steered) = snap.plan.take() {
            if self.shape.as_ref() != Some(&steered) {
                let fresh = Model::new(&steered);
                self.total_secs = fresh.total_secs;
                self.peak_users = fresh.peak_users;
                self.stages = fresh.stages;
                self.plan = fresh.plan;
                self.shape = fresh.shape;
            }
        }
        let last = self.history.last().map(|p| p.second);
        for p in snap.points.drain(..) {
            if last.is_none_or(|l| p.second > l) {
                self.history.push(p);
            }
        }
        self.latest = snap;
        self.ticks += 1;
    }

    /// Keeps a line the process printed (the last few).
    pub fn printed(&mut self, line: String) {
        if self.output.len() >= 20 {
            self.output.remove(0);
        }
        self.output.push(line);
    }

    pub fn elapsed_secs(&self) -> u64 {
        self.latest.elapsed_secs as u64
    }

    /// The stage running now: its number from 1, and its description.
    pub fn stage(&self) -> Option<(usize, &StageLine)> {
        let t = self.elapsed_secs();
        self.stages
            .iter()
            .enumerate()
            .find(|(_, s)| t < s.end_secs)
            .or_else(|| self.stages.iter().enumerate().next_back())
            .map(|(i, s)| (i + 1, s))
    }

    /// Users the plan asks for now.
    pub fn target_users(&self) -> u64 {
        let t = self.latest.elapsed_secs;
        let mut prev = (0.0, 0.0);
        for &(end, users) in &self.plan[1..] {
            if t < end {
                let frac = if end > prev.0 {
                    (t - prev.0) / (end - prev.0)
                } else {
                    1.0
                };
                return (prev.1 + (users - prev.1) * frac).round() as u64;
            }
            prev = (end, users);
        }
        0
    }

    pub fn current_users(&self) -> u64 {
        self.history.last().map_or(0, |p| p.users)
    }

    /// Requests and failures in the last closed second.
    pub fn current_rates(&self) -> (u64, u64) {
        self.history
            .last()
            .map_or((0, 0), |p| (p.requests, p.failures))
    }

    pub fn failed_rules(&self) -> usize {
        self.latest
            .rules
            .iter()
            .filter(|r| r.passed == Some(false))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: u64, requests: u64) -> Point {
        Point {
            second,
            users: 10,
            requests,
            ..Point::default()
        }
    }

    #[test]
    fn the_plan_and_stages_come_from_the_shape() {
        let m = Model::new(&Shape::parse_plan("10,10s;10,20s").unwrap());
        assert_eq!(m.plan, vec![(0.0, 0.0), (10.0, 10.0), (30.0, 10.0)]);
        assert_eq!(m.stages.len(), 2);
        assert_eq!((m.total_secs, m.peak_users), (30, 10));
        assert_eq!(m.stage().unwrap().0, 1);
    }

    #[test]
    fn snapshots_extend_the_history_and_replace_the_tables() {
        let mut m = Model::new(&Shape::parse_plan("10,10s;10,20s").unwrap());
        m.apply(Snapshot {
            elapsed_secs: 5.0,
            points: vec![point(3, 7), point(4, 9)],
            ..Snapshot::default()
        });
        // A repeated second (as after a late merge) is not counted twice.
        m.apply(Snapshot {
            elapsed_secs: 12.0,
            points: vec![point(4, 9), point(5, 11)],
            rules: vec![RuleLine {
                rule: "p95<1ms".into(),
                observed: "3ms".into(),
                limit: "1ms".into(),
                passed: Some(false),
            }],
            ..Snapshot::default()
        });
        assert_eq!(
            m.history.iter().map(|p| p.second).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert_eq!(m.current_rates(), (11, 0));
        assert_eq!(m.ticks, 2);
        assert_eq!(m.failed_rules(), 1);
        assert_eq!(m.stage().unwrap().0, 2);
        assert_eq!(m.target_users(), 10);
    }

    #[test]
    fn a_steered_plan_replaces_the_drawn_one() {
        let shape = Shape::parse_plan("100,10s;100,50s").unwrap();
        let mut m = Model::new(&shape);
        m.apply(Snapshot {
            elapsed_secs: 20.0,
            plan: Some(shape.steered(20, 300, 0)),
            ..Snapshot::default()
        });
        assert_eq!(m.target_users(), 300);
        assert_eq!(m.total_secs, 60);
        // Two stages up to the change, the jump (0 s) and the hold.
        assert_eq!(m.stages.len(), 4);
    }

    #[test]
    fn target_users_follow_the_ramp() {
        let mut m = Model::new(&Shape::parse_plan("100,10s").unwrap());
        m.latest.elapsed_secs = 2.5;
        assert_eq!(m.target_users(), 25);
    }
}
