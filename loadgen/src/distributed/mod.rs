//! Manager/worker mode: one test split across load generator processes.
//!
//! - [`protocol`]: the messages, their version, the token check.
//! - `listen`: the manager's accept loop: through errors, with a cap on connections
//!   not yet admitted.
//! - `waiting`: the line of connections not yet joined; the oldest makes room.
//! - `admission`: checks each joining worker; relays its messages as events.
//! - [`connection`]: the framing; the only code that reads or writes bytes.
//! - [`manager`]: accepts workers, splits the shape, merges their snapshots.
//! - [`worker`]: runs its share on goose and streams per-second snapshots.
//! - `idle`: a worker whose share has no users idles and reports instead.
//! - `rows`: feeder rows the manager deals to the users that ask, each once.

mod admission;
pub mod connection;
mod idle;
mod listen;
pub mod manager;
pub mod protocol;
mod rows;
mod waiting;
pub mod worker;

use serde::{Deserialize, Serialize};

/// Where a worker is in the run, as the manager, the dashboard and the reports see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Joined and waiting for the start.
    #[default]
    Joined,
    /// Running its share.
    Running,
    /// Its plan ended and every snapshot arrived.
    Done,
    /// Disconnected or silent: its users were moved onto the others.
    Lost,
    /// Still running when the manager ended the run.
    Stopped,
}

impl WorkerState {
    /// As summary.json spells it: `joined`, `running`, `done`, `lost`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Joined => "joined",
            WorkerState::Running => "running",
            WorkerState::Done => "done",
            WorkerState::Lost => "lost",
            WorkerState::Stopped => "stopped",
        }
    }

    /// For the dashboard: a lost worker shouts.
    pub fn label(self) -> &'static str {
        match self {
            WorkerState::Lost => "LOST",
            other => other.as_str(),
        }
    }

    pub fn is_lost(self) -> bool {
        self == WorkerState::Lost
    }
}

/// One worker's part in a distributed run, as the summary reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    pub id: u32,
    pub name: String,
    pub address: String,
    pub capacity: u64,
    pub state: WorkerState,
    /// Peak users of this worker's share as last assigned.
    pub peak_users: u64,
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    /// Seconds into the run when the worker was lost, and why.
    pub lost_at_secs: Option<f64>,
    pub lost_reason: Option<String>,
    /// Users it was running when lost, moved onto the other workers.
    pub users_moved: Option<u64>,
    /// Requests it reported too late to count: after it was declared lost (a
    /// partitioned worker's last reports, arriving when its link heals), or for
    /// a second the manager had already closed. Not in the run's figures.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub late_requests: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
