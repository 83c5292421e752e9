//! `loadgen report RUN_DIR`: render a run folder's reports again from its summary.json.

use crate::cli::ReportArgs;
use crate::error::exit;
use crate::report::summary::Summary;
use crate::{report, Error};
use std::path::Path;

pub fn report(args: &ReportArgs) -> Result<u8, Error> {
    let (dir, file) = if args.run.is_dir() {
        (args.run.clone(), args.run.join("summary.json"))
    } else {
        let dir = args.run.parent().unwrap_or(Path::new(".")).to_path_buf();
        (dir, args.run.clone())
    };
    let summary = Summary::read(&file)?;
    // What was written is said even when something else could not be.
    let result = report::write_all(&summary, &dir);
    let written = match &result {
        Ok(written) | Err(report::Error::Unwritten { written, .. }) => written.as_slice(),
        Err(_) => &[],
    };
    for path in written {
        println!("wrote {}", path.display());
    }
    result.map_err(to_cli)?;
    let hlog = dir.join(report::hlog::FILE);
    if hlog.exists() {
        println!("kept  {} (written during the run)", hlog.display());
    } else {
        println!(
            "no {}: the per-second histograms exist only in the log written during the run, \
             so it cannot be regenerated (stats_history.csv has N/A for its cumulative percentiles)",
            hlog.display()
        );
    }
    Ok(exit::PASSED)
}

/// A report that cannot be rendered from its input is a usage error; a disk that
/// refuses the files is not.
pub(crate) fn to_cli(e: report::Error) -> Error {
    match e {
        report::Error::Summary(_) | report::Error::Hlog { .. } => Error::Usage(e.to_string()),
        report::Error::Io { .. } | report::Error::Read { .. } | report::Error::Unwritten { .. } => {
            Error::Run(e.to_string())
        }
    }
}
