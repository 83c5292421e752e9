//! The engine room: who runs when. A workload's scenarios (the author room)
//! become users scheduled over the shape's time, their requests going out
//! through the client room.
//!
//! - [`generate`]: a workload's load in this process, closed or open:
//!   [`goose`] runs the closed model's users (with [`probe`] checking the
//!   runtime keeps time); [`open`] dispatches the open model's arrivals on the
//!   schedule of [`arrivals`].
//! - [`local`]: a run in this process; [`live`]: the aggregate and the judges
//!   that may stop a run early, shared with the distributed manager.
//! - [`ticker`]: the one per-second clock of local runs, managers and workers.
//! - [`stop`]: cancellation handed in from the command line, bridged to goose;
//!   [`ending`]: the end of the load on time (graceful stop, then the cut).
//! - [`lifecycle`]: the run's setup and teardown.
//! - [`steer`]: the live plan of a steered run, and how each model follows it;
//!   [`steer_goose`]: goose's users follow it through goose's own controller.
//! - [`bundled`], [`target`]: the service started when no host is given; the
//!   reachability check of a host. [`files`]: the open-file limit connections need.

pub mod arrivals;
pub mod bundled;
pub mod ending;
pub mod files;
pub mod generate;
pub mod goose;
pub mod lifecycle;
pub mod live;
pub mod local;
pub mod open;
pub mod probe;
pub mod steer;
pub mod steer_goose;
pub mod stop;
pub mod target;
pub mod ticker;

use crate::author::feeder::Feeders;
use crate::author::scenario::ScenarioDef;
use crate::author::selection::ScenarioSelection;
use crate::client::ClientSettings;
use crate::distributed::WorkerSummary;
use crate::judge::BreakingPoint;
use crate::metrics::{Aggregator, FinalSecond};
use crate::shape::Shape;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What every load generator of a run needs from the command line, beyond its
/// share of the shape and the host. Workers receive it whole from the manager,
/// so a new generator option is a field here and a flag in the CLI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadSpec {
    pub selection: ScenarioSelection,
    /// How users reach the target (`--connections`, `--max-body`).
    #[serde(default)]
    pub client: ClientSettings,
    /// Open model: the most users at once (`--max-users`), and the most
    /// arrivals that may wait for one (`--max-queue`). Set for open shapes.
    #[serde(default)]
    pub max_users: Option<u64>,
    #[serde(default)]
    pub max_queue: Option<u64>,
    /// A request that sets no timeout of its own fails as a timeout after this
    /// (`--timeout`), in milliseconds.
    pub request_timeout_ms: u64,
    /// What requests in flight at the end get to finish before they are cut
    /// (`--graceful-stop`), in milliseconds.
    #[serde(default = "default_graceful_stop_ms")]
    pub graceful_stop_ms: u64,
    /// `--header`: on every request (a scenario's, user's or request's own replace them).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

fn default_graceful_stop_ms() -> u64 {
    ending::DEFAULT_GRACE.as_millis() as u64
}

impl LoadSpec {
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.request_timeout_ms)
    }

    pub fn graceful_stop(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.graceful_stop_ms)
    }
}

/// The load one process generates: a shape of users on a host, running scenarios.
#[derive(Clone)]
pub struct Workload {
    pub shape: Shape,
    pub host: String,
    pub spec: LoadSpec,
    /// `spec.selection` resolved against the registered scenarios.
    pub scenarios: Vec<ScenarioDef>,
    /// The feeders registered with the App, opened for this process (kept
    /// open across a worker's new shares, so no row is handed out twice).
    pub feeders: Feeders,
    /// What the run's setup returned (`null` without one).
    pub setup: Arc<serde_json::Value>,
    /// This process's place among the run's generators: worker `stripe.0` of
    /// `stripe.1` (`(0, 1)` for a local run). Feeders deal rows by it, and
    /// users' ids are counted from its base.
    pub stripe: (u64, u64),
    /// The live plan, when the run may be steered (`--control`, the
    /// dashboard's keys); `None` runs the shape as planned.
    pub steer: Option<steer::Steer>,
}

impl Workload {
    /// The most users this workload runs at once: the shape's peak in the
    /// closed model, `--max-users` in the open one.
    pub fn peak_users(&self) -> u64 {
        match self.shape.model {
            crate::shape::LoadModel::Closed => self.shape.peak(),
            crate::shape::LoadModel::Open => self.spec.max_users.unwrap_or(0),
        }
    }
}

/// What a run leaves: everything measured, and why it ended.
pub struct RunOutcome {
    pub aggregator: Aggregator,
    pub elapsed_secs: f64,
    pub interrupted: bool,
    /// Why the run stopped before its plan ended, if it did.
    pub stopped_by: Option<String>,
    pub breaking_point: Option<BreakingPoint>,
    /// Per worker figures of a distributed run (empty for a local run).
    pub workers: Vec<WorkerSummary>,
    /// The `--abort-when` rule that stopped it, if one did.
    pub aborted: Option<crate::judge::live::Aborted>,
    /// What became of each `--at` action.
    pub faults: Vec<crate::faults::FaultEvent>,
}

/// What observers see once a second.
pub struct Tick<'a> {
    pub second: u64,
    pub elapsed_secs: f64,
    pub aggregator: &'a Aggregator,
    pub finalized: &'a [FinalSecond],
    /// The `--at` actions so far.
    pub faults: &'a [crate::faults::FaultEvent],
}
