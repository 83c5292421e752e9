//! Cross-format checks on a run folder: the same percentiles in summary.json,
//! stats.csv, report.html and summary.md; Locust's CSV headers.

use loadgen::report::summary::Summary;
use std::path::Path;

/// Locust 2.47's headers, copied from locust/stats.py (requests_csv_columns,
/// stats_history_csv_columns, failures_columns).
pub const LOCUST_STATS: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
pub const LOCUST_HISTORY: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
pub const LOCUST_FAILURES: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

pub fn assert_locust_headers(dir: &Path) {
    assert_eq!(first_line(&read(dir, "stats.csv")), LOCUST_STATS);
    assert_eq!(first_line(&read(dir, "stats_history.csv")), LOCUST_HISTORY);
    assert_eq!(first_line(&read(dir, "failures.csv")), LOCUST_FAILURES);
}

fn ms2(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// Percentiles agree across summary.json, stats.csv, report.html and summary.md.
pub fn assert_formats_agree(dir: &Path) {
    let s = Summary::read(&dir.join("summary.json")).expect("summary.json reads");
    let stats = read(dir, "stats.csv");
    let header: Vec<&str> = first_line(&stats).split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let aggregated: Vec<&str> = stats
        .lines()
        .find(|l| l.starts_with(",Aggregated,"))
        .expect("an Aggregated row")
        .split(',')
        .collect();
    let whole = |us: u64| ((us + 500) / 1000).to_string();
    assert_eq!(
        aggregated[col("Request Count")],
        s.total.figures.requests.to_string()
    );
    assert_eq!(aggregated[col("50%")], whole(s.total.figures.p50_us));
    assert_eq!(
        aggregated[col("Median Response Time")],
        whole(s.total.figures.p50_us)
    );
    assert_eq!(aggregated[col("90%")], whole(s.total.figures.p90_us));
    assert_eq!(aggregated[col("95%")], whole(s.total.figures.p95_us));
    assert_eq!(aggregated[col("99%")], whole(s.total.figures.p99_us));
    assert_eq!(aggregated[col("99.9%")], whole(s.total.figures.p999_us));
    let html = read(dir, "report.html");
    let row_start = html
        .find("<tr data-name=\"Aggregated\">")
        .expect("the total row");
    let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
    for (class, us) in [
        ("p50", s.total.figures.p50_us),
        ("p95", s.total.figures.p95_us),
        ("p99", s.total.figures.p99_us),
    ] {
        let cell = format!("<td class=\"{class}\">{}</td>", ms2(us));
        assert!(
            row.contains(&cell),
            "report.html's total row lacks {cell}: {row}"
        );
    }
    let md = read(dir, "summary.md");
    let line = md
        .lines()
        .find(|l| l.starts_with("| **Aggregated**"))
        .expect("md total row");
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    assert_eq!(
        &cells[4..7],
        &[
            ms2(s.total.figures.p50_us),
            ms2(s.total.figures.p95_us),
            ms2(s.total.figures.p99_us)
        ]
    );
    for row in &s.endpoints {
        let name = format!("{} {}", row.method, row.name);
        let md_row = md.lines().find(|l| l.starts_with(&format!("| {name} |")));
        let md_row = md_row.unwrap_or_else(|| panic!("summary.md lacks {name}"));
        assert!(
            md_row.contains(&format!("| {} |", ms2(row.figures.p95_us))),
            "{md_row}"
        );
    }
}
