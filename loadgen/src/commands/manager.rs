//! `loadgen manager SHAPE --expect-workers N`: run a shape across workers.

use super::conclude::conclude;
use super::session::{watched, Launch, Role};
use crate::cli::ManagerArgs;
use crate::distributed::manager::{self, ManagerPlan};
use crate::distributed::WorkerSummary;
use crate::engine::target;
use crate::plan::RunPlan;
use crate::tui::WorkerRow;
use crate::{App, Error};
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A worker as the dashboard's workers screen shows it.
fn worker_row((w, users): &(WorkerSummary, u64)) -> WorkerRow {
    WorkerRow {
        name: format!("{} ({})", w.name, w.address),
        state: w.state,
        users: *users,
        rps: w.rps,
        errors: w.failures,
    }
}

pub async fn manager(
    app: &App,
    args: &ManagerArgs,
    interrupt: &CancellationToken,
) -> Result<u8, Error> {
    let plan = RunPlan::from_args(&args.run, &app.scenarios)?;
    if args.expect_workers == 0 {
        return Err(Error::Usage("--expect-workers must be at least 1".into()));
    }
    let addr: SocketAddr = args
        .bind
        .parse()
        .map_err(|e| Error::Usage(format!("--bind '{}' is not ADDR:PORT: {e}", args.bind)))?;
    let token = args.token.clone().unwrap_or_default();
    super::worker::check_token(&token)?;
    if !addr.ip().is_loopback() {
        if token.is_empty() {
            return Err(Error::Usage(format!(
                "--bind {addr} is reachable from the network: set --token or LOADGEN_TOKEN"
            )));
        }
        eprintln!("{0}\nWARNING: the manager listens on {addr}, reachable from the network.\nAnyone with the token can join and receive the target's address.\n{0}", "=".repeat(72));
    } else if token.is_empty() {
        eprintln!(
            "manager: no token set: any local process may join (set LOADGEN_TOKEN to require one)"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {addr}: {e}")))?;
    let launch = Launch::start(app, &plan).await?;
    let result = async {
        let reached = target::preflight(&launch.host, &plan.load.client).await?;
        super::session::say_how_users_connect(&plan, &reached);
        eprintln!(
            "manager: listening on {addr}; waiting for {} worker(s) (`loadgen worker --manager {addr}`)",
            args.expect_workers
        );
        let mplan = ManagerPlan {
            run: &plan,
            host: launch.host.clone(),
            expect_workers: args.expect_workers,
            join_timeout: Duration::from_secs(args.join_timeout),
            token,
        };
        let ran = watched(&plan, &launch.host, Role::Manager, interrupt, |on_tick, board| {
            let on_workers = move |roster: &[(WorkerSummary, u64)]| {
                board.set(roster.iter().map(worker_row).collect())
            };
            manager::run(mplan, listener, &app.scenarios, interrupt, on_tick, on_workers)
        })
        .await?;
        conclude(&plan, &launch, ran)
    }
    .await;
    launch.stop().await;
    result
}
