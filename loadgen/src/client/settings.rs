//! What a run asks of its users' connections: the connection model and the
//! largest body read. Part of every generator's `LoadSpec`, sent whole to workers.

use serde::{Deserialize, Serialize};

/// How users hold connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionModel {
    /// Each user holds its own keep-alive connection, as a browser tab or a Locust user.
    #[default]
    PerUser,
    /// All users share one connection pool: raw throughput, does not model users' connections.
    Shared,
}

impl ConnectionModel {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionModel::PerUser => "per-user",
            ConnectionModel::Shared => "shared",
        }
    }
}

/// The connection options of a run (`--connections`, `--max-body`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub connections: ConnectionModel,
    /// The largest response body read; a larger one fails its request.
    pub max_body_bytes: u64,
}

/// The largest response body read by default (`--max-body`).
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024 * 1024;

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connections: ConnectionModel::PerUser,
            max_body_bytes: DEFAULT_MAX_BODY,
        }
    }
}
