//! `loadgen check summary.json`: judge a finished run again from its histograms.

use crate::cli::CheckArgs;
use crate::error::exit;
use crate::judge::{self, Verdict};
use crate::report::console;
use crate::report::summary::Summary;
use crate::Error;

pub fn check(args: &CheckArgs) -> Result<u8, Error> {
    let rules = judge::rules(&args.judge.profile, &args.judge.thresholds).map_err(Error::Usage)?;
    let mut summary = Summary::read(&args.summary)?;
    let (total, endpoints) = summary
        .stats()
        .map_err(|e| Error::Usage(format!("{}: {e}", args.summary.display())))?;
    summary.thresholds = judge::evaluate_all(&rules, &total, &endpoints, summary.duration_secs);
    summary.verdict = Verdict::judge(&summary.thresholds, summary.breaking_point.as_ref(), &rules)
        .noting_generator(&summary.generator.bound_by);
    print!("{}", console::verdict_table(&summary));
    Ok(if summary.verdict.passed {
        exit::PASSED
    } else {
        exit::FAILED
    })
}
