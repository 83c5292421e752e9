//! Manager/worker mode: one test split across load generator processes.
//!
//! - [`protocol`]: the messages, their version, the token check.
//! - `admission`: checks each joining worker; relays its messages as events.
//! - [`connection`]: the framing; the only code that reads or writes bytes.
//! - [`manager`]: accepts workers, splits the shape, merges their snapshots.
//! - [`worker`]: runs its share on goose and streams per-second snapshots.

mod admission;
pub mod connection;
pub mod manager;
pub mod protocol;
pub mod worker;

use serde::{Deserialize, Serialize};

/// One worker's part in a distributed run, as the summary reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    pub id: u32,
    pub name: String,
    pub address: String,
    pub capacity: u64,
    /// `done`, `lost` or `stopped`.
    pub state: String,
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
}
