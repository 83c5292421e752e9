//! `loadgen check summary.json`: judge a finished run again from its histograms,
//! its per-second series (rules with a window) and its faults (`recovery`).

use crate::cli::CheckArgs;
use crate::error::exit;
use crate::judge::{self, Verdict};
use crate::report::console;
use crate::report::summary::Summary;
use crate::Error;

pub fn check(args: &CheckArgs) -> Result<u8, Error> {
    let mut summary = Summary::read(&args.summary)?;
    // Without rules given, the run is judged again by its own.
    let rules = match (&args.judge.profile, args.judge.thresholds.is_empty()) {
        (None, true) => summary
            .config
            .rules
            .iter()
            .map(|text| judge::Rule::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Usage(format!("{}: its rules: {e}", args.summary.display())))?,
        (profile, _) => judge::rules(profile.as_deref().unwrap_or("none"), &args.judge.thresholds)
            .map_err(Error::Usage)?,
    };
    let (total, endpoints) = summary
        .stats()
        .map_err(|e| Error::Usage(format!("{}: {e}", args.summary.display())))?;
    let counters = summary
        .counters
        .iter()
        .map(|c| (c.name.clone(), c.total))
        .collect();
    let evidence = judge::Evidence {
        total: &total,
        endpoints: &endpoints,
        secs: summary.duration_secs,
        series: &summary.series,
        request_series: &summary.request_series,
        faults: &summary.faults,
        counters: &counters,
    };
    summary.thresholds = judge::evaluate_all(&rules, &evidence);
    summary.verdict = Verdict::judge(&summary.thresholds, summary.breaking_point.as_ref(), &rules)
        .noting_generator(&summary.generator.bound_by)
        .noting_abort(summary.aborted_by.as_ref());
    print!("{}", console::verdict_table(&summary));
    Ok(if summary.verdict.passed {
        exit::PASSED
    } else {
        exit::FAILED
    })
}
