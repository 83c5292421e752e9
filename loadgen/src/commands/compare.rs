//! `loadgen compare BASELINE CURRENT`: the delta table, and exit 1 on a regression.

use crate::cli::CompareArgs;
use crate::error::exit;
use crate::judge::regression::{compare as diff, Limits};
use crate::report::summary::Summary;
use crate::Error;
use std::path::{Path, PathBuf};

/// A run folder stands for its summary.json.
fn summary_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("summary.json")
    } else {
        p.to_path_buf()
    }
}

pub fn compare(args: &CompareArgs) -> Result<u8, Error> {
    let limits = Limits::parse(args.max_regression.as_deref().unwrap_or(""))
        .map_err(|e| Error::Usage(format!("--max-regression: {e}")))?;
    let baseline = Summary::read(&summary_path(&args.baseline))?;
    let current = Summary::read(&summary_path(&args.current))?;
    match print_comparison(&baseline, &current, &limits) {
        Compared::Regressed => Ok(exit::FAILED),
        Compared::Passed => Ok(exit::PASSED),
        // Two runs of different things: the files given are the mistake.
        Compared::NothingInCommon(why) => Err(Error::Usage(why)),
    }
}

/// What a comparison found.
pub(crate) enum Compared {
    Passed,
    Regressed,
    /// No endpoint in both runs: why, naming each run's endpoints.
    NothingInCommon(String),
}

/// Prints the table and says what it found.
pub(crate) fn print_comparison(baseline: &Summary, current: &Summary, limits: &Limits) -> Compared {
    let comparison = diff(baseline, current, limits);
    let mut out = Vec::new();
    let _ = comparison.write_table(&mut out);
    print!("{}", String::from_utf8_lossy(&out));
    if comparison.nothing_in_common {
        let notes = comparison.notes.join("; ");
        Compared::NothingInCommon(format!(
            "the runs have no endpoint in common, so only their totals could be compared ({notes})"
        ))
    } else if comparison.regressions() > 0 {
        Compared::Regressed
    } else {
        Compared::Passed
    }
}
