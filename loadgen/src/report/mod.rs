//! What a run leaves and prints: `summary.json`, the console table and verdict,
//! and the run folder's HTML, Locust CSVs, JUnit, Markdown and HDR interval log,
//! all computed from the same histograms so their figures agree.
//!
//! - [`summary`]: `summary.json`, the run's complete, versioned record;
//!   [`validate`]: the one check a summary.json passes when read.
//! - [`console`]: the status line while running; the Locust table and verdict at the end.
//! - [`model`]: the summary with its histograms decoded (and the hlog's, if any).
//! - [`csv`]: `stats.csv`, `stats_history.csv`, `failures.csv` in Locust's layout.
//! - [`breakdown`]: statuses, scenarios, counters and feeders after the console table.
//! - [`html`] (with `html_charts`, `html_connections`) and [`svg`]: the
//!   self-contained `report.html`, its charts and its connections section.
//! - [`junit`] and [`markdown`]: for CI test reports and step summaries.
//! - [`hlog`]: `latency.hlog`, written during the run, read back here.
//! - [`steered`]: a steered run's changes and its replay, in each of them.

pub mod breakdown;
pub mod console;
pub mod csv;
pub mod hlog;
pub mod html;
mod html_breakdown;
mod html_charts;
mod html_connections;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod steered;
pub mod summary;
pub mod svg;
pub mod validate;
mod workers_html;

pub use hlog::HlogWriter;
pub use model::Model;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use summary::Summary;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the summary's histograms are unreadable: {0}")]
    Summary(String),
    #[error("{path} is not a readable HdrHistogram interval log: {reason}")]
    Hlog { path: PathBuf, reason: String },
    /// Some reports could not be written (each tried; none left half-written).
    #[error("{}", unwritten(failed))]
    Unwritten {
        written: Vec<PathBuf>,
        failed: Vec<Error>,
    },
}

fn unwritten(failed: &[Error]) -> String {
    let each: Vec<String> = failed.iter().map(Error::to_string).collect();
    each.join("; ")
}

type Render = fn(&Model, &mut dyn Write) -> io::Result<()>;

/// Every report `write_all` renders, by file name. The hlog is not here: it is
/// written while the run goes, from histograms the summary does not keep.
pub const FORMATS: [(&str, Render); 6] = [
    ("report.html", html::write),
    ("stats.csv", csv::write_stats),
    ("stats_history.csv", csv::write_history),
    ("failures.csv", csv::write_failures),
    ("junit.xml", junit::write),
    ("summary.md", markdown::write),
];

/// Renders every report of `summary` into `dir`; returns the files written.
/// Each is tried even after one fails (a full disk may still take the small
/// ones): `Error::Unwritten` says which were written and which were not.
pub fn write_all(summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let model = Model::new(summary, dir)?;
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let (mut written, mut failed) = (Vec::new(), Vec::new());
    for (name, render) in FORMATS {
        let path = dir.join(name);
        match write_file(&path, |w| render(&model, w)) {
            Ok(()) => written.push(path),
            Err(e) => failed.push(e),
        }
    }
    if failed.is_empty() {
        Ok(written)
    } else {
        Err(Error::Unwritten { written, failed })
    }
}

/// Writes a file whole or not at all: a temporary file, then a rename. On
/// failure the temporary file is removed and `path` is left as it was.
pub fn write_file(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = io::BufWriter::new(file);
        render(&mut out)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()
    });
    let done = written.and_then(|()| std::fs::rename(&tmp, path));
    done.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Locust's percentile columns: (percentile, header).
pub const PERCENTILES: [(f64, &str); 11] = [
    (50.0, "50%"),
    (66.0, "66%"),
    (75.0, "75%"),
    (80.0, "80%"),
    (90.0, "90%"),
    (95.0, "95%"),
    (98.0, "98%"),
    (99.0, "99%"),
    (99.9, "99.9%"),
    (99.99, "99.99%"),
    (100.0, "100%"),
];

/// Escapes text for HTML and XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_written_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("loadgen-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.html");
        std::fs::write(&path, "the old one").unwrap();
        let e = write_file(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert!(!dir.join(".report.html.tmp").exists());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the old one");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
