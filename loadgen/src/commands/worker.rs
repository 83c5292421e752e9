//! `loadgen worker --manager HOST:PORT`: generate load for a manager.

use crate::cli::WorkerArgs;
use crate::distributed::worker::{self, WorkerConfig};
use crate::{App, Error};
use tokio_util::sync::CancellationToken;

pub async fn worker(
    app: &App,
    args: &WorkerArgs,
    interrupt: &CancellationToken,
) -> Result<u8, Error> {
    if args.capacity == 0 {
        return Err(Error::Usage("--capacity must be at least 1".into()));
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    let cfg = WorkerConfig {
        manager: args.manager.clone(),
        capacity: args.capacity,
        token: args.token.clone().unwrap_or_default(),
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("{host}-{}", std::process::id())),
        connect_timeout: std::time::Duration::from_secs(args.connect_timeout),
    };
    worker::run(&app.scenarios, cfg, interrupt).await
}
