//! `loadgen worker --manager HOST:PORT`: generate load for a manager.

use crate::cli::WorkerArgs;
use crate::client::settings::{check_local_ips, parse_local_ips};
use crate::distributed::protocol::MAX_TOKEN_BYTES;
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
    worker::manager_address(&args.manager).map_err(Error::Usage)?;
    let token = args.token.clone().unwrap_or_default();
    check_token(&token)?;
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    let cfg = WorkerConfig {
        manager: args.manager.clone(),
        capacity: args.capacity,
        token,
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("{host}-{}", std::process::id())),
        connect_timeout: std::time::Duration::from_secs(args.connect_timeout),
        local_ips: match &args.local_ips {
            Some(spec) => {
                let ips = parse_local_ips(spec).map_err(Error::Usage)?;
                check_local_ips(&ips).map_err(Error::Usage)?;
                Some(ips)
            }
            None => None,
        },
    };
    worker::run(&app.scenarios, &app.feeders, cfg, interrupt).await
}

/// A token the join frame can carry (the manager reads at most a few KiB before checking it).
pub(crate) fn check_token(token: &str) -> Result<(), Error> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::Usage(format!(
            "the token (--token or LOADGEN_TOKEN) is {} bytes: at most {MAX_TOKEN_BYTES}",
            token.len()
        )));
    }
    Ok(())
}
