//! `loadgen manager SHAPE --expect-workers N`: run a shape across workers.

use super::conclude::conclude;
use super::session::{watched, Launch, Role};
use crate::author::feeder::Feeders;
use crate::cli::ManagerArgs;
use crate::distributed::manager::{self, ManagerPlan};
use crate::distributed::WorkerSummary;
use crate::engine::{lifecycle, target, Workload};
use crate::plan::RunPlan;
use crate::tui::WorkerRow;
use crate::{App, Error};
use std::net::SocketAddr;
use std::sync::Arc;
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
        // The setup and teardown run here, as a user of the manager's own.
        let lifecycle_workload = Workload {
            shape: plan.shape.clone(),
            host: launch.host.clone(),
            spec: plan.load.clone(),
            scenarios: plan.scenarios.clone(),
            feeders: Feeders::default(),
            setup: Arc::new(serde_json::Value::Null),
            stripe: (0, 1),
        };
        let setup = match &app.setup {
            Some(f) => lifecycle::setup(f, &lifecycle_workload).await?,
            None => serde_json::Value::Null,
        };
        let lifecycle_workload = Workload {
            setup: Arc::new(setup.clone()),
            ..lifecycle_workload
        };
        let mplan = ManagerPlan {
            run: &plan,
            host: launch.host.clone(),
            expect_workers: args.expect_workers,
            join_timeout: Duration::from_secs(args.join_timeout),
            token,
            setup,
        };
        let ran = watched(&plan, &launch.host, Role::Manager, interrupt, |on_tick, board| {
            let on_workers = move |roster: &[(WorkerSummary, u64)]| {
                board.set(roster.iter().map(worker_row).collect())
            };
            manager::run(mplan, listener, &app.scenarios, interrupt, on_tick, on_workers)
        })
        .await;
        if let Some(f) = &app.teardown {
            lifecycle::teardown(f, &lifecycle_workload).await;
        }
        conclude(&plan, &launch, ran?)
    }
    .await;
    launch.stop().await;
    result
}
