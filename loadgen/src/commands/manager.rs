//! `loadgen manager SHAPE --expect-workers N`: run a shape across workers.

use super::{conclude, progress, run};
use crate::cli::ManagerArgs;
use crate::distributed::manager::{self, ManagerPlan};
use crate::distributed::WorkerSummary;
use crate::tui::{WorkerRow, WorkerState};
use crate::{clock, runner, App, Error};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// A worker as the dashboard's workers screen shows it.
fn worker_row((w, users): &(WorkerSummary, u64)) -> WorkerRow {
    let state = match w.state.as_str() {
        "lost" => WorkerState::Lost,
        "done" => WorkerState::Done,
        "joined" => WorkerState::Joining,
        _ => WorkerState::Running,
    };
    WorkerRow {
        name: format!("{} ({})", w.name, w.address),
        state,
        users: *users,
        rps: w.rps,
        errors: w.failures,
    }
}

pub async fn manager(app: &App, args: &ManagerArgs) -> Result<u8, Error> {
    let plan = run::plan(app, &args.run)?;
    if args.expect_workers == 0 {
        return Err(Error::Usage("--expect-workers must be at least 1".into()));
    }
    let addr: SocketAddr = args
        .bind
        .parse()
        .map_err(|e| Error::Usage(format!("--bind '{}' is not ADDR:PORT: {e}", args.bind)))?;
    let token = args.token.clone().unwrap_or_default();
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
    let started_at = clock::rfc3339(SystemTime::now());
    let (host, bundled) = run::target(app, &args.run).await?;
    let result = async {
        runner::preflight(&host).await?;
        eprintln!("manager: listening on {addr}; waiting for {} worker(s) (`loadgen worker --manager {addr}`)", args.expect_workers);
        let mplan = ManagerPlan {
            shape: plan.shape.clone(),
            host: host.clone(),
            scenarios: plan.scenarios.iter().map(|s| s.name.clone()).collect(),
            paths: args.run.paths.clone(),
            think: run::think(&args.run)?,
            rules: plan.rules.clone(),
            abort_on_fail: args.run.abort_on_fail,
            request_timeout_secs: args.run.timeout,
            expect_workers: args.expect_workers,
            join_timeout: Duration::from_secs(args.join_timeout),
            token,
        };
        let hlog = crate::report::HlogWriter::create(&plan.out, SystemTime::now())
            .map_err(|e| Error::Usage(e.to_string()))?;
        let feed = hlog.feed();
        let (mut progress, display) = progress::start(&args.run, &plan.shape, &plan.rules);
        let on_tick = move |tick: &runner::Tick| {
            feed.tick(tick);
            progress(tick);
        };
        let board = display.workers();
        let on_workers = move |roster: &[(WorkerSummary, u64)]| board.set(roster.iter().map(worker_row).collect());
        let outcome = manager::run(mplan, listener, &app.scenarios, on_tick, on_workers).await;
        display.close();
        let outcome = outcome?;
        if let Err(e) = hlog.finish(&outcome.aggregator) {
            eprintln!("loadgen: warning: {e}");
        }
        conclude::conclude(&args.run, &plan, &host, bundled.is_some(), started_at, outcome)
    }
    .await;
    if let Some(b) = bundled {
        b.stop().await;
    }
    result
}
