//! `loadgen run SHAPE`: validate everything, start the bundled target if no
//! host was given, run, judge, write the run folder, and pick the exit code.

use super::{conclude, progress};
use crate::cli::RunArgs;
use crate::runner::{self, RunOptions};
use crate::scenario::{self, ScenarioDef};
use crate::shape::Shape;

use crate::bundled::Running;
use crate::think::Think;
use crate::threshold::{self, Rule};
use crate::{clock, App, Error};
use std::path::PathBuf;
use std::time::SystemTime;

/// Everything `run` needs, checked before anything starts.
pub(crate) struct Plan {
    pub shape: Shape,
    pub scenarios: Vec<ScenarioDef>,
    pub rules: Vec<Rule>,
    pub out: PathBuf,
}

pub(crate) fn plan(app: &App, args: &RunArgs) -> Result<Plan, Error> {
    let mut shape = Shape::named(&args.shape)
        .map_err(Error::Usage)?
        .scaled(args.scale.users, args.scale.duration);
    shape.validate().map_err(Error::Usage)?;
    if let Some(stop) = shape.stop.as_mut() {
        if let Some(p99) = &args.stop_p99 {
            stop.max_p99_us = threshold::parse_time_us(p99)
                .map_err(|e| Error::Usage(format!("--stop-p99: {e}")))?
                as u64;
        }
        if let Some(rate) = &args.stop_error_rate {
            stop.max_error_rate = threshold::parse_rate(rate)
                .map_err(|e| Error::Usage(format!("--stop-error-rate: {e}")))?;
        }
    }
    let rules =
        threshold::rules(&args.judge.profile, &args.judge.thresholds).map_err(Error::Usage)?;
    if let Some(baseline) = &args.baseline {
        crate::summary::Summary::read(baseline)?;
    }
    let scenarios = select_scenarios(app, args)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "{}-{}",
            clock::compact(SystemTime::now()),
            shape.name
        ))
    });
    Ok(Plan {
        shape,
        scenarios,
        rules,
        out,
    })
}

/// Every user's pause between tasks (--think), replacing the scenarios' own.
pub(crate) fn think(args: &RunArgs) -> Result<Option<Think>, Error> {
    args.think
        .as_deref()
        .map(Think::parse)
        .transpose()
        .map_err(|e| Error::Usage(format!("--think: {e}")))
}

fn select_scenarios(app: &App, args: &RunArgs) -> Result<Vec<ScenarioDef>, Error> {
    Ok(Think::apply(think(args)?, chosen_scenarios(app, args)?))
}

fn chosen_scenarios(app: &App, args: &RunArgs) -> Result<Vec<ScenarioDef>, Error> {
    let wants_http_get = args.scenarios.iter().any(|s| s == "http-get");
    if wants_http_get && args.paths.is_empty() {
        return Err(Error::Usage(
            "the http-get scenario needs at least one --path, as in --path /books/1".into(),
        ));
    }
    if !(args.paths.is_empty() || wants_http_get || args.scenarios.is_empty()) {
        return Err(Error::Usage(
            "--path is for the http-get scenario: add --scenario http-get".into(),
        ));
    }
    if args.scenarios.is_empty() {
        if !args.paths.is_empty() {
            return Ok(vec![scenario::http_get(&args.paths)]);
        }
        if app.scenarios.is_empty() {
            return Err(Error::Usage(
                "no scenarios are registered: use --scenario http-get --path /".into(),
            ));
        }
        return Ok(app.scenarios.clone());
    }
    let mut chosen = Vec::new();
    for name in &args.scenarios {
        if name == "http-get" {
            chosen.push(scenario::http_get(&args.paths));
            continue;
        }
        match app.scenarios.iter().find(|s| &s.name == name) {
            Some(s) => chosen.push(s.clone()),
            None => {
                let known: Vec<&str> = app
                    .scenarios
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(["http-get"])
                    .collect();
                return Err(Error::Usage(format!(
                    "unknown scenario '{name}': registered are {}",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(chosen)
}

pub async fn run(app: &App, args: &RunArgs) -> Result<u8, Error> {
    let plan = plan(app, args)?;
    let started_at = clock::rfc3339(SystemTime::now());
    let (host, bundled) = target(app, args).await?;
    let result = run_against(args, &plan, &host, bundled.is_some(), started_at).await;
    if let Some(b) = bundled {
        b.stop().await;
    }
    result
}

/// The host to load: --host, or the bundled target started now (stop it after).
pub(crate) async fn target(app: &App, args: &RunArgs) -> Result<(String, Option<Running>), Error> {
    let bundled = match (&args.host, &app.target) {
        (Some(_), _) => None,
        (None, Some(target)) => {
            eprintln!(
                "loadgen: starting the bundled {} on embedded defaults...",
                target.name
            );
            Some(target.start().await?)
        }
        (None, None) => {
            return Err(Error::Usage(
                "--host is required: this load test bundles no target".into(),
            ))
        }
    };
    let host = args
        .host
        .clone()
        .unwrap_or_else(|| bundled.as_ref().map(|b| b.url.clone()).unwrap_or_default());
    Ok((host, bundled))
}

async fn run_against(
    args: &RunArgs,
    plan: &Plan,
    host: &str,
    bundled: bool,
    started_at: String,
) -> Result<u8, Error> {
    runner::preflight(host).await?;
    let shape = plan.shape.clone();
    eprintln!(
        "loadgen: {} against {host}: peak {} users over {} ({} scenario(s)); results in {}",
        shape.name,
        shape.peak_users(),
        crate::duration::fmt_secs(shape.total_secs()),
        plan.scenarios.len(),
        plan.out.display()
    );
    let hlog = crate::report::HlogWriter::create(&plan.out, SystemTime::now())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let feed = hlog.feed();
    let (mut progress, display) = progress::start(args, &shape, &plan.rules);
    let on_tick = move |tick: &runner::Tick| {
        feed.tick(tick);
        progress(tick);
    };
    let opts = RunOptions {
        shape: shape.clone(),
        host: host.to_string(),
        scenarios: plan.scenarios.clone(),
        rules: plan.rules.clone(),
        abort_on_fail: args.abort_on_fail,
        request_timeout_secs: args.timeout,
    };
    let outcome = runner::run(opts, on_tick).await;
    // Back to the normal screen before the final table prints.
    display.close();
    let outcome = outcome?;
    if let Err(e) = hlog.finish(&outcome.aggregator) {
        eprintln!("loadgen: warning: {e}");
    }
    conclude::conclude(args, plan, host, bundled, started_at, outcome)
}
