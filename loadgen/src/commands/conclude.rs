//! The end of a run, local or distributed, in three steps: judge what was
//! measured into a `Summary`, write the run folder (and print the final table
//! and verdict), pick the exit code. A run folder that could not be written
//! whole is exit 3, whatever the verdict: a CI gate must not pass on reports
//! that are not there.

use super::compare::{print_comparison, Compared};
use super::session::{Launch, Watched};
use crate::client::ConnectionModel;
use crate::error::exit;
use crate::judge::regression::Limits;
use crate::judge::{evaluate_all, recovery, Evidence, Verdict};
use crate::metrics::{ConnectionFigures, GeneratorFigures};
use crate::plan::RunPlan;
use crate::report::summary::{Summary, SCHEMA_VERSION};
use crate::report::{self, console};
use crate::shape::LoadModel;
use crate::Error;
use std::path::PathBuf;

pub fn conclude(plan: &RunPlan, launch: &Launch, ran: Watched) -> Result<u8, Error> {
    let Watched {
        outcome,
        steered,
        hlog,
        server,
    } = ran;
    let mut summary = judge(plan, launch, outcome);
    summary.server = server;
    if let Some(steered) = &steered {
        // The charts' planned line is the plan as it was steered.
        summary.shape = steered.shape.clone();
    }
    summary.steered = steered;
    let folder = write(plan, &summary, hlog);
    let regressed = against_baseline(plan, &summary);
    exit_code(plan, launch, &summary, &folder, regressed)
}

/// Step 1: everything measured, judged (thresholds, recoveries, the verdict).
fn judge(plan: &RunPlan, launch: &Launch, outcome: crate::engine::RunOutcome) -> Summary {
    let secs = outcome.elapsed_secs;
    let agg = &outcome.aggregator;
    let (total, endpoints, errors) = Summary::endpoint_rows(agg, secs);
    let faults = recovery::reports(&outcome.faults, &agg.series, plan.recovery);
    let evidence = Evidence {
        total: &agg.total,
        endpoints: &agg.endpoints,
        secs,
        series: &agg.series,
        request_series: &agg.request_series,
        faults: &faults,
        counters: &agg.counters,
    };
    let thresholds = evaluate_all(&plan.rules, &evidence);
    let open = plan.shape.model == LoadModel::Open;
    let generator = GeneratorFigures::of(&agg.generator, open);
    let verdict = Verdict::judge(&thresholds, outcome.breaking_point.as_ref(), &plan.rules)
        .noting_generator(&generator.bound_by)
        .noting_abort(outcome.aborted.as_ref());
    let mut summary = Summary {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at: launch.started_at.clone(),
        duration_secs: secs,
        interrupted: outcome.interrupted,
        stopped_by: outcome.stopped_by,
        config: plan.config(&launch.host, launch.bundled.is_some()),
        shape: plan.shape.clone(),
        total,
        endpoints,
        errors,
        series: outcome.aggregator.series.clone(),
        request_series: outcome.aggregator.request_series.clone(),
        thresholds,
        verdict,
        breaking_point: outcome.breaking_point,
        workers: outcome.workers,
        connections: (plan.load.client.connections == ConnectionModel::PerUser)
            .then(|| ConnectionFigures::of(&outcome.aggregator.connections)),
        generator_bound: generator.bound(),
        generator,
        aborted_by: outcome.aborted,
        faults,
        server: None,
        scenarios: agg
            .scenarios
            .iter()
            .map(|(name, s)| crate::report::summary::EndpointRow::new("SCENARIO", name, s, secs))
            .collect(),
        counters: agg
            .counters
            .iter()
            .map(|(name, total)| crate::report::summary::CounterRow {
                name: name.clone(),
                total: *total,
                per_sec: *total as f64 / secs.max(1e-9),
            })
            .collect(),
        warnings: Vec::new(),
        steered: None,
    };
    summary.warnings = warnings(plan, &summary);
    summary
}

/// What the figures cannot say for themselves.
fn warnings(plan: &RunPlan, summary: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    let folded: u64 = summary
        .endpoints
        .iter()
        .filter(|r| r.name == crate::metrics::OTHER_NAMES)
        .map(|r| r.figures.requests)
        .sum();
    if folded > 0 {
        out.push(format!(
            "{folded} requests had names past the first {} and share the row '{}': \
             a path with an id in it needs .name(\"/orders/{{id}}\")",
            crate::metrics::MAX_NAMES,
            crate::metrics::OTHER_NAMES
        ));
    }
    if plan.implicit_rule {
        out.push(format!(
            "no threshold was given: the run is judged by {} alone (--threshold sets your \
             own; --allow-failures turns this off)",
            crate::judge::profile::NO_THRESHOLD_RULE
        ));
    }
    out
}

/// What step 2 left in the run folder.
struct Folder {
    summary: Option<PathBuf>,
    /// Every file written, summary.json and the hlog included.
    written: Vec<PathBuf>,
    /// What could not be written, and why.
    unwritten: Vec<String>,
}

/// Step 2: summary.json and every report written, the final table and
/// verdict printed, and where the results are (or which of them are).
fn write(plan: &RunPlan, summary: &Summary, hlog: Result<PathBuf, report::Error>) -> Folder {
    let mut folder = Folder {
        summary: None,
        written: Vec::new(),
        unwritten: Vec::new(),
    };
    match hlog {
        Ok(path) => folder.written.push(path),
        Err(e) => folder.unwritten.push(e.to_string()),
    }
    match summary.write(&plan.out) {
        Ok(path) => {
            folder.summary = Some(path.clone());
            folder.written.push(path);
        }
        Err(e) => folder.unwritten.push(e.to_string()),
    }
    match report::write_all(summary, &plan.out) {
        Ok(files) => folder.written.extend(files),
        Err(report::Error::Unwritten { written, failed }) => {
            folder.written.extend(written);
            folder
                .unwritten
                .extend(failed.iter().map(ToString::to_string));
        }
        Err(e) => folder.unwritten.push(e.to_string()),
    }
    println!("\n{}", console::final_report(summary));
    match &folder.summary {
        Some(path) if folder.unwritten.is_empty() => println!("Results: {}", path.display()),
        _ => {
            let names: Vec<String> = folder
                .written
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            println!(
                "Results: only {} written in {}",
                if names.is_empty() {
                    "nothing".into()
                } else {
                    names.join(", ")
                },
                plan.out.display()
            );
        }
    }
    folder
}

/// `--baseline`: the comparison printed; whether it found a regression.
fn against_baseline(plan: &RunPlan, summary: &Summary) -> bool {
    let Some(baseline) = &plan.baseline else {
        return false;
    };
    println!("\nAgainst the baseline {}:", baseline.path.display());
    match print_comparison(&baseline.summary, summary, &Limits::default()) {
        Compared::Passed => false,
        Compared::Regressed => true,
        // A baseline that judges nothing fails the gate it was given for.
        Compared::NothingInCommon(why) => {
            eprintln!("loadgen: the baseline judged nothing: {why}");
            true
        }
    }
}

/// Step 3: the exit code of CLI.md.
fn exit_code(
    plan: &RunPlan,
    launch: &Launch,
    summary: &Summary,
    folder: &Folder,
    regressed: bool,
) -> Result<u8, Error> {
    if !folder.unwritten.is_empty() {
        return Err(Error::Run(format!(
            "the run's results could not all be written: {}",
            folder.unwritten.join("; ")
        )));
    }
    if summary.total.figures.requests == 0 && !summary.interrupted {
        return Err(Error::Run(format!(
            "no request was made against {} (see {})",
            launch.host,
            plan.out.display()
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
