//! Steering a running test, the way Locust's web UI and k6's
//! externally-controlled executor let people: change the users (closed
//! model) or the arrival rate (open) with a ramp, pause and resume, end the
//! stage in progress; from the dashboard's keys, an HTTP API and a web page.
//!
//! - [`steering`]: the changes, checked and applied to the live plan the
//!   generators follow (`engine::steer`), marked on the timeline and kept as
//!   the plan that replays the session.
//! - [`command`]: changes as the API's JSON and the dashboard's prompt write them.
//! - [`state`]: the live state the API serves and the page draws.
//! - [`api`]: `--control ADDR`: the API and the page (`page.html`).

pub mod api;
pub mod command;
pub mod state;
pub mod steering;

pub use steering::{Command, ControlEvent, Steered, Steering};

use crate::plan::RunPlan;
use crate::shape::LoadModel;
use crate::tui::Snapshot;
use crate::Error;
use api::ControlServer;
use state::StateBoard;

/// A steerable run's controls: the steering, the state the API serves, and
/// the API's server (with `--control`).
pub struct Controls {
    pub steering: Steering,
    pub board: StateBoard,
    server: Option<ControlServer>,
}

impl Controls {
    /// The controls of `plan`'s run, if it may be steered: it has a
    /// dashboard or `--control`. `files_ceiling`: the most connections this
    /// process may open (a local run's users each hold one).
    pub async fn start(
        plan: &RunPlan,
        files_ceiling: Option<u64>,
    ) -> Result<Option<Controls>, Error> {
        if plan.control.is_none() && !plan.display.dashboard {
            return Ok(None);
        }
        let (max, why) = steering::ceiling(plan.shape.model, plan.load.max_users, files_ceiling);
        let steering = Steering::new(&plan.shape, max, &why);
        let board = StateBoard::new(&steering);
        let server = match &plan.control {
            Some(control) => {
                let server = ControlServer::bind(
                    control.addr,
                    control.token.clone(),
                    steering.clone(),
                    board.clone(),
                )
                .await
                .map_err(Error::Usage)?;
                let unit = match plan.shape.model {
                    LoadModel::Closed => "users",
                    LoadModel::Open => "rate",
                };
                eprintln!(
                    "loadgen: steer this run at http://{0}/ (or curl -d '{{\"{unit}\": N, \"ramp\": \"30s\"}}' http://{0}/api/control{1})",
                    server.addr,
                    if control.token.is_some() { " -H 'Authorization: Bearer TOKEN'" } else { "" }
                );
                Some(server)
            }
            None => None,
        };
        Ok(Some(Controls {
            steering,
            board,
            server,
        }))
    }

    /// Each tick: the state the API serves, from the dashboard's snapshot of it.
    pub fn tick(&self, snapshot: &Snapshot) {
        self.board.update(snapshot, &self.steering);
    }

    /// The load has ended: no more changes; the session, if one was steered.
    pub fn finish(self, elapsed_secs: f64) -> Option<Steered> {
        let Controls {
            steering,
            board,
            server,
        } = self;
        steering.end();
        board.finish();
        drop(server);
        steering.session(elapsed_secs)
    }

    /// The dashboard's view of the steering: the plan as steered, the pause,
    /// and the changes, added to a snapshot.
    pub fn annotate(steering: &Steering, snapshot: &mut Snapshot) {
        let live = steering.plan().now();
        snapshot.plan = Some(live.shape);
        snapshot.paused = live.paused;
        snapshot.controls = steering
            .events()
            .into_iter()
            .map(|e| (e.from_secs, e.what))
            .collect();
    }
}
