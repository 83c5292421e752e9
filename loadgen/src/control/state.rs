//! The live state the control API serves (`GET /api/state`) and the web page
//! draws: the same per-second points, tables and workers as the dashboard,
//! with the plan as steered and the changes made, refreshed each tick.

use super::steering::{ControlEvent, Steering};
use crate::metrics::{EndpointFigures, SecondPoint};
use crate::tui::model::Snapshot;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Seconds of history the state keeps for the page's charts.
const HISTORY_SECS: usize = 3600;

/// One endpoint over the run so far.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointState {
    pub method: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: EndpointFigures,
}

/// A worker of a distributed run.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerState {
    pub name: String,
    pub state: String,
    pub users: u64,
    pub rps: f64,
    pub errors: u64,
}

/// A closed second, with what the plan asked for in it.
#[derive(Clone, Debug, Serialize)]
pub struct PointState {
    #[serde(flatten)]
    pub point: SecondPoint,
    /// Users (closed) or iterations per second (open) the plan had then.
    pub planned: f64,
}

/// Everything `GET /api/state` answers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveState {
    /// `closed` or `open`.
    pub model: String,
    /// What a level counts: `users` or `iterations/s`.
    pub unit: String,
    pub shape: String,
    pub elapsed_secs: f64,
    /// When the plan, as steered, ends (seconds from the start).
    pub plan_secs: u64,
    /// The level the plan has now.
    pub planned_now: f64,
    pub paused: bool,
    /// Why changes are refused outright (a stress run), if they are.
    pub locked: Option<String>,
    pub finished: bool,
    pub stopping: Option<String>,
    pub total: Option<EndpointFigures>,
    pub endpoints: Vec<EndpointState>,
    pub workers: Vec<WorkerState>,
    pub controls: Vec<ControlEvent>,
    /// The last hour of closed seconds, oldest first.
    pub series: VecDeque<PointState>,
}

/// Where each tick leaves the state for the API to read.
#[derive(Clone, Default)]
pub struct StateBoard(Arc<Mutex<LiveState>>);

impl StateBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state before the first tick: what the run is, and its plan.
    pub fn new(steering: &Steering) -> StateBoard {
        let board = StateBoard::default();
        board.plan(steering, 0.0);
        board
    }

    /// What the run is and its plan as steered, at `elapsed_secs`.
    fn plan(&self, steering: &Steering, elapsed_secs: f64) {
        let live = steering.plan().now();
        let mut state = self.lock();
        state.model = match steering.model() {
            crate::shape::LoadModel::Closed => "closed".into(),
            crate::shape::LoadModel::Open => "open".into(),
        };
        state.unit = steering.model().unit().into();
        state.shape = live.shape.name.clone();
        state.elapsed_secs = (elapsed_secs * 10.0).round() / 10.0;
        state.plan_secs = live.shape.total_secs();
        state.planned_now = live.shape.level_at(elapsed_secs).round();
        state.paused = live.paused;
        state.locked = steering.locked();
        state.controls = steering.events();
    }

    /// Takes in one tick: the dashboard's snapshot of it, and the steering.
    pub fn update(&self, snapshot: &Snapshot, steering: &Steering) {
        self.plan(steering, snapshot.elapsed_secs);
        let live = steering.plan().now();
        let mut state = self.lock();
        state.stopping = snapshot.stopping.clone();
        state.total = Some(snapshot.total.figures.clone());
        state.endpoints = snapshot
            .endpoints
            .iter()
            .map(|e| EndpointState {
                method: e.method.clone(),
                name: e.name.clone(),
                figures: e.figures.clone(),
            })
            .collect();
        state.workers = snapshot
            .workers
            .iter()
            .map(|w| WorkerState {
                name: w.name.clone(),
                state: format!("{:?}", w.state).to_lowercase(),
                users: w.users,
                rps: w.rps,
                errors: w.errors,
            })
            .collect();
        for point in &snapshot.points {
            let planned = live.shape.level_at(point.second as f64).round();
            state.series.push_back(PointState {
                point: point.clone(),
                planned,
            });
        }
        while state.series.len() > HISTORY_SECS {
            state.series.pop_front();
        }
    }

    /// The run is over: the page says so, and stops polling.
    pub fn finish(&self) {
        self.lock().finished = true;
    }

    /// The state as JSON, with only the seconds after `since` (all with `None`).
    pub fn json(&self, since: Option<u64>) -> serde_json::Value {
        let state = self.lock();
        let mut value = serde_json::to_value(&*state).unwrap_or_default();
        if let (Some(since), Some(series)) = (since, value.get_mut("series")) {
            if let Some(points) = series.as_array_mut() {
                points.retain(|p| p["second"].as_u64().is_some_and(|s| s > since));
            }
        }
        value
    }
}
