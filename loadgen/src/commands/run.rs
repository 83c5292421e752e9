//! `loadgen run SHAPE`: plan, start the target, run in this process, conclude.

use super::conclude::conclude;
use super::processes;
use super::session::{watched, Launch, Role};
use crate::author::feeder::Feeders;
use crate::cli::RunArgs;
use crate::client::ConnectionModel;
use crate::engine::live::LiveRun;
use crate::engine::{files, lifecycle, local, target, Workload};
use crate::plan::RunPlan;
use crate::shape::LoadModel;
use crate::units::fmt_secs;
use crate::{App, Error, Placement};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run(app: &App, args: &RunArgs, interrupt: &CancellationToken) -> Result<u8, Error> {
    let plan = RunPlan::from_args(args, &app.scenarios)?;
    // The feeders' files are read now: a missing or empty one is exit 2.
    let feeders = Feeders::open(&app.feeders, (0, 1)).map_err(Error::Usage)?;
    let processes = match &args.processes {
        Some(text) => processes::count(text, &plan)?,
        None => 1,
    };
    if processes > 1 {
        return processes::run(app, &plan, processes, interrupt).await;
    }
    if plan.load.client.connections == ConnectionModel::PerUser {
        // The bundled service's end of each connection is a file too when it
        // serves from this process.
        let in_process = plan.host.is_none() && app.placement == Placement::InProcess;
        let files_each = if in_process { 2 } else { 1 };
        let limit = files::raise_limit();
        let users = match plan.shape.model {
            LoadModel::Closed => plan.shape.peak(),
            LoadModel::Open => plan.load.max_users.unwrap_or(0),
        };
        if let Some(why) = files::too_many(users, files_each, limit) {
            return Err(Error::Usage(why));
        }
    }
    let launch = Launch::start(app, &plan).await?;
    let result = run_against(app, &plan, &launch, feeders, interrupt).await;
    launch.stop().await;
    result
}

async fn run_against(
    app: &App,
    plan: &RunPlan,
    launch: &Launch,
    feeders: Feeders,
    interrupt: &CancellationToken,
) -> Result<u8, Error> {
    let reached = target::preflight(&launch.host, &plan.load.client).await?;
    super::session::say_how_users_connect(plan, &reached);
    let shape = &plan.shape;
    let peak = match shape.model {
        LoadModel::Closed => format!("{} users", shape.peak()),
        LoadModel::Open => format!(
            "{} iterations/s (open model: at most {} users, {} waiting)",
            shape.peak(),
            plan.load.max_users.unwrap_or(0),
            plan.load.max_queue.unwrap_or(0)
        ),
    };
    eprintln!(
        "loadgen: {} against {}: peak {peak} over {} ({} scenario(s)); results in {}",
        shape.name,
        launch.host,
        fmt_secs(shape.total_secs()),
        plan.scenarios.len(),
        plan.out.display()
    );
    let mut workload = Workload {
        shape: shape.clone(),
        host: launch.host.clone(),
        spec: plan.load.clone(),
        scenarios: plan.scenarios.clone(),
        feeders,
        setup: Arc::new(serde_json::Value::Null),
        stripe: (0, 1),
        steer: None,
    };
    if let Some(setup) = &app.setup {
        workload.setup = Arc::new(lifecycle::setup(setup, &workload).await?);
    }
    let live = LiveRun::new(plan);
    let load = workload.clone();
    let ran = watched(
        plan,
        &launch.host,
        Role::Local,
        interrupt,
        |on_tick, _, steer| local::run(load, live, steer, interrupt, on_tick),
    )
    .await;
    if let Some(teardown) = &app.teardown {
        lifecycle::teardown(teardown, &workload).await;
    }
    conclude(plan, launch, ran?)
}
