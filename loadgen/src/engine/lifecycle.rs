//! A run's setup and teardown (`App::setup`, `App::teardown`): once, before
//! any user starts (its result handed to every user, and to workers in a
//! distributed run), and once after the load, even when the run was
//! interrupted. Each runs as a user of its own, its requests not counted in
//! the run's figures (they happen outside its clock).

use super::generate::context;
use super::Workload;
use crate::author::runner::persona_of;
use crate::author::scenario::{ScenarioDef, TaskFn};
use crate::author::setup::SetupFn;
use crate::author::task_error::TaskError;
use crate::author::vu::Vu;
use crate::metrics::Recorder;
use crate::Error;
use goose::config::GooseConfiguration;
use goose::goose::GooseUser;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs `f` as a user of its own on the workload's target.
async fn as_user<T>(
    workload: &Workload,
    what: &str,
    f: impl for<'a> FnOnce(Vu<'a>) -> Pin<Box<dyn Future<Output = Result<T, TaskError>> + Send + 'a>>,
) -> Result<T, Error> {
    let recorder = Arc::new(Recorder::new());
    let never = CancellationToken::new();
    let ctx = context(workload, &recorder, never.clone(), never.clone(), &never)?;
    let config = GooseConfiguration::parse_args_default::<&str>(&[])
        .map_err(|e| Error::Run(format!("goose refused the configuration: {e:?}")))?;
    let base = reqwest::Url::parse(&workload.host)
        .map_err(|e| Error::Usage(format!("--host '{}': {e}", workload.host)))?;
    let mut user = GooseUser::new(
        0,
        Arc::from(what),
        base,
        &config,
        0,
        Some(super::goose::idle_client()?),
    )
    .map_err(|e| Error::Run(format!("the {what} user: {e:?}")))?;
    let persona = persona_of(&ScenarioDef::new(what));
    f(Vu::new(&mut user, ctx, persona))
        .await
        .map_err(|e| Error::Run(format!("the run's {what} failed: {e}")))
}

/// Runs the setup; its failure stops the run before any load (exit 3).
pub async fn setup(f: &SetupFn, workload: &Workload) -> Result<serde_json::Value, Error> {
    eprintln!("loadgen: running the setup");
    as_user(workload, "setup", |vu| f(vu)).await
}

/// Runs the teardown; a failure is said, and does not change the verdict.
pub async fn teardown(f: &TaskFn, workload: &Workload) {
    eprintln!("loadgen: running the teardown");
    if let Err(e) = as_user(workload, "teardown", |vu| f(vu)).await {
        eprintln!("loadgen: warning: {e}");
    }
}
