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
    if args.run.processes.is_some() {
        return Err(Error::Usage(
            "--processes is for `loadgen run`: a manager's workers are started with `loadgen worker`".into(),
        ));
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
    let workers = match (args.expect_workers, args.min_workers) {
        (Some(n), None) => Workers::Expect(n),
        (None, Some(n)) => Workers::AtLeast(n),
        _ => {
            return Err(Error::Usage(
                "give --expect-workers N (start when N joined) or --min-workers N (start at N, take more as they join)".into(),
            ))
        }
    };
    if workers.count() == 0 {
        return Err(Error::Usage(
            "the workers to wait for must be at least 1".into(),
        ));
    }
    let join_timeout = Duration::from_secs(args.join_timeout);
    coordinate(
        app,
        &plan,
        listener,
        workers,
        join_timeout,
        token,
        interrupt,
    )
    .await
}

/// How many workers a manager waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Workers {
    /// Exactly these: the run starts when they joined, and takes no more.
    Expect(u32),
    /// At least these: the run starts when they joined, and workers that join
    /// later take a share at the next second.
    AtLeast(u32),
}

impl Workers {
    fn count(self) -> u32 {
        match self {
            Workers::Expect(n) | Workers::AtLeast(n) => n,
        }
    }
}

/// A distributed run from its manager's side, on a bound listener: the
/// target started, the setup, the workers waited for, the run, the teardown,
/// the reports. `loadgen manager` and `loadgen run --processes` both.
pub(crate) async fn coordinate(
    app: &App,
    plan: &RunPlan,
    listener: tokio::net::TcpListener,
    workers: Workers,
    join_timeout: Duration,
    token: String,
    interrupt: &CancellationToken,
) -> Result<u8, Error> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Run(format!("the manager's address: {e}")))?;
    let launch = Launch::start(app, plan).await?;
    let result = async {
        let reached = target::preflight(&launch.host, &plan.load.client).await?;
        super::session::say_how_users_connect(plan, &reached);
        eprintln!(
            "manager: listening on {addr}; waiting for {}{} worker(s) (`loadgen worker --manager {addr}`)",
            if matches!(workers, Workers::AtLeast(_)) { "at least " } else { "" },
            workers.count()
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
            steer: None,
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
            run: plan,
            host: launch.host.clone(),
            expect_workers: workers.count(),
            late_joiners: matches!(workers, Workers::AtLeast(_)),
            join_timeout,
            token,
            setup,
            steer: None,
        };
        let ran = watched(plan, &launch.host, Role::Manager, interrupt, |on_tick, board, steer| {
            let on_workers = move |roster: &[(WorkerSummary, u64)]| {
                board.set(roster.iter().map(worker_row).collect())
            };
            let mplan = ManagerPlan { steer, ..mplan };
            manager::run(mplan, listener, &app.scenarios, interrupt, on_tick, on_workers)
        })
        .await;
        if let Some(f) = &app.teardown {
            lifecycle::teardown(f, &lifecycle_workload).await;
        }
        conclude(plan, &launch, ran?)
    }
    .await;
    launch.stop().await;
    result
}
