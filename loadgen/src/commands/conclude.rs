//! The end of a run, local or distributed: judge, write the run folder, print
//! the final table and verdict, and choose the exit code.

use super::run::Plan;
use crate::cli::RunArgs;
use crate::error::exit;
use crate::runner::RunOutcome;
use crate::summary::{RunConfig, Summary, Verdict};
use crate::{console, threshold, Error};

pub fn conclude(
    args: &RunArgs,
    plan: &Plan,
    host: &str,
    bundled: bool,
    started_at: String,
    outcome: RunOutcome,
) -> Result<u8, Error> {
    let secs = outcome.elapsed_secs;
    let (total, endpoints, errors) = Summary::endpoint_rows(&outcome.aggregator, secs);
    let thresholds = threshold::evaluate_all(
        &plan.rules,
        &outcome.aggregator.total,
        &outcome.aggregator.endpoints,
        secs,
    );
    let verdict = Verdict::judge(&thresholds, outcome.breaking_point.as_ref(), &plan.rules);
    let summary = Summary {
        schema_version: crate::summary::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        duration_secs: secs,
        interrupted: outcome.interrupted,
        stopped_by: outcome.stopped_by,
        config: RunConfig {
            shape: args.shape.clone(),
            host: host.to_string(),
            bundled_target: bundled,
            scenarios: plan.scenarios.iter().map(|s| s.name.clone()).collect(),
            users: args.scale.users,
            duration_secs: args.scale.duration,
            profile: args.judge.profile.clone(),
            rules: plan.rules.iter().map(|r| r.text.clone()).collect(),
            abort_on_fail: args.abort_on_fail,
            think: args.think.clone(),
        },
        shape: plan.shape.clone(),
        total,
        endpoints,
        errors,
        series: outcome.aggregator.series.clone(),
        thresholds,
        verdict,
        breaking_point: outcome.breaking_point,
        workers: outcome.workers,
    };
    let path = summary.write(&plan.out)?;
    if let Err(e) = crate::report::write_all(&summary, &plan.out) {
        eprintln!("loadgen: warning: the reports were not all written: {e}");
    }
    println!("\n{}", console::final_report(&summary));
    println!("Results: {}", path.display());
    let regressed = match &args.baseline {
        None => false,
        Some(file) => {
            let baseline = Summary::read(file)?;
            println!("\nAgainst the baseline {}:", file.display());
            let limits = crate::report::compare::Limits::default();
            super::compare::print_comparison(&baseline, &summary, &limits)
        }
    };
    if summary.total.requests == 0 && !summary.interrupted {
        return Err(Error::Run(format!(
            "no request was made against {host} (see {})",
            path.display()
        )));
    }
    Ok(if summary.interrupted {
        exit::INTERRUPTED
    } else if !summary.verdict.passed || regressed {
        exit::FAILED
    } else {
        exit::PASSED
    })
}
