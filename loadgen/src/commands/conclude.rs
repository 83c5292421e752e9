//! The end of a run, local or distributed: judge, write the run folder, print
//! the final table and verdict, compare with the baseline, pick the exit code.

use super::compare::{print_comparison, Compared};
use super::session::Launch;
use crate::engine::transport::ConnectionModel;
use crate::engine::RunOutcome;
use crate::error::exit;
use crate::judge::regression::Limits;
use crate::judge::{evaluate_all, Verdict};
use crate::metrics::{ConnectionFigures, GeneratorFigures};
use crate::plan::RunPlan;
use crate::report::summary::{RunConfig, Summary, SCHEMA_VERSION};
use crate::report::{self, console};
use crate::shape::LoadModel;
use crate::Error;

pub fn conclude(plan: &RunPlan, launch: &Launch, outcome: RunOutcome) -> Result<u8, Error> {
    let secs = outcome.elapsed_secs;
    let agg = &outcome.aggregator;
    let (total, endpoints, errors) = Summary::endpoint_rows(agg, secs);
    let thresholds = evaluate_all(&plan.rules, &agg.total, &agg.endpoints, secs);
    let open = plan.shape.model == LoadModel::Open;
    let generator = GeneratorFigures::of(&agg.generator, open);
    let verdict = Verdict::judge(&thresholds, outcome.breaking_point.as_ref(), &plan.rules)
        .noting_generator(&generator.bound_by);
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at: launch.started_at.clone(),
        duration_secs: secs,
        interrupted: outcome.interrupted,
        stopped_by: outcome.stopped_by,
        config: RunConfig::new(plan, &launch.host, launch.bundled.is_some()),
        shape: plan.shape.clone(),
        total,
        endpoints,
        errors,
        series: outcome.aggregator.series.clone(),
        thresholds,
        verdict,
        breaking_point: outcome.breaking_point,
        workers: outcome.workers,
        connections: (plan.load.connections == ConnectionModel::PerUser)
            .then(|| ConnectionFigures::of(&outcome.aggregator.connections)),
        generator_bound: generator.bound(),
        generator,
    };
    let path = summary.write(&plan.out)?;
    if let Err(e) = report::write_all(&summary, &plan.out) {
        eprintln!("loadgen: warning: the reports were not all written: {e}");
    }
    println!("\n{}", console::final_report(&summary));
    println!("Results: {}", path.display());
    let regressed = match &plan.baseline {
        None => false,
        Some(baseline) => {
            println!("\nAgainst the baseline {}:", baseline.path.display());
            match print_comparison(&baseline.summary, &summary, &Limits::default()) {
                Compared::Passed => false,
                Compared::Regressed => true,
                // A baseline that judges nothing fails the gate it was given for.
                Compared::NothingInCommon(why) => {
                    eprintln!("loadgen: the baseline judged nothing: {why}");
                    true
                }
            }
        }
    };
    if summary.total.figures.requests == 0 && !summary.interrupted {
        return Err(Error::Run(format!(
            "no request was made against {} (see {})",
            launch.host,
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
