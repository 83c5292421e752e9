//! Reports through the real binary: the run folder's files, `loadgen report`,
//! `loadgen compare` and `run --baseline`, with their exit codes.

#[path = "../../loadgen/tests/support/agree.rs"]
mod agree;
#[path = "../../loadgen/tests/support/schema.rs"]
mod schema;
mod support;

use loadgen::metrics::{hdr, EndpointStats};
use loadgen::report::summary::{EndpointRow, Summary};
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::*;

fn baseline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baselines/stages-50u-30s.json")
}

fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `s` with every latency of its total scaled by `factor`, histogram and
/// figures alike: a run really that much faster or slower (loadgen refuses a
/// summary whose figures disagree with its histograms).
fn total_scaled(s: &Value, factor: f64) -> Value {
    let mut summary: Summary = serde_json::from_value(s.clone()).unwrap();
    let stats = summary.total.stats().unwrap();
    let mut hist = hdr::new_histogram();
    for v in stats.hist.iter_recorded() {
        let us = (v.value_iterated_to() as f64 * factor).clamp(1.0, hdr::MAX_US as f64);
        hist.record_n(us as u64, v.count_at_value()).unwrap();
    }
    let stats = EndpointStats { hist, ..stats };
    summary.total = EndpointRow::new("", "Aggregated", &stats, summary.duration_secs);
    serde_json::to_value(&summary).unwrap()
}

#[test]
fn a_run_writes_every_report_and_fails_on_a_regression_against_its_baseline() {
    let host = serve(known_latency_app(Served::default()));
    let out = out_dir("reports-first");
    let args = |out: &Path, extra: &[&str]| {
        let mut a: Vec<String> = [
            "run",
            "plan:6,1s;6,2s",
            "--host",
            &host,
            "--scenario",
            "http-get",
            "--path",
            "/",
            "--profile",
            "none",
            "--headless",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let first: Vec<String> = args(&out, &[]);
    let o = run(&first.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in [
        "report.html",
        "stats.csv",
        "stats_history.csv",
        "failures.csv",
        "latency.hlog",
        "junit.xml",
        "summary.md",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    schema::assert_valid_summary(&summary(&out));
    agree::assert_locust_headers(&out);
    agree::assert_formats_agree(&out);

    // A baseline twice as fast: this run regressed against it.
    let fast = total_scaled(&summary(&out), 0.5);
    let fast_path = out_dir("reports-fast-baseline").join("summary.json");
    write_json(&fast_path, &fast);
    let second = out_dir("reports-second");
    let with_baseline = args(&second, &["--baseline", fast_path.to_str().unwrap()]);
    let o = run(&with_baseline.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("REGRESSION"), "{}", stdout(&o));

    // Against itself it passes.
    let same = out_dir("reports-third");
    let against_self = args(
        &same,
        &[
            "--baseline",
            out.join("summary.json").to_str().unwrap(),
            "--threshold",
            "p99<10s",
        ],
    );
    let o = run(&against_self.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stdout(&o).contains("Against the baseline"),
        "{}",
        stdout(&o)
    );

    // A missing baseline is a usage error before anything runs.
    let never = out_dir("reports-never");
    let bad = args(&never, &["--baseline", "/nonexistent/summary.json"]);
    let o = run(&bad.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!never.join("summary.json").exists());
}

#[test]
fn report_rerenders_from_summary_json_and_says_the_hlog_cannot_be() {
    let dir = out_dir("reports-rerender");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(baseline(), dir.join("summary.json")).unwrap();
    let o = run(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("latency.hlog"), "{}", stdout(&o));
    for f in [
        "report.html",
        "stats.csv",
        "stats_history.csv",
        "failures.csv",
        "junit.xml",
        "summary.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    agree::assert_formats_agree(&dir);
    let o = run(&["report", dir.join("summary.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(dir.join("junk.json"), "{\"not\": \"a summary\"}").unwrap();
    let o = run(&["report", dir.join("junk.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn compare_exits_0_1_or_2() {
    let base = baseline();
    let base_s = base.to_str().unwrap();
    let o = run(&["compare", base_s, base_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for metric in ["p50", "p95", "p99", "error-rate", "rps"] {
        assert!(stdout(&o).contains(metric), "{}", stdout(&o));
    }
    let worse = total_scaled(&read_json(&base), 1.3);
    let worse_path = out_dir("reports-worse").join("summary.json");
    write_json(&worse_path, &worse);
    let w = worse_path.to_str().unwrap();
    let o = run(&["compare", base_s, w]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("REGRESSION"));
    let o = run(&["compare", base_s, w, "--max-regression", "p95=40%,p99=40%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(&["compare", base_s, w, "--max-regression", "p97=1%"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["compare", base_s, "/nonexistent/summary.json"]);
    assert_eq!(o.status.code(), Some(2));
    let help = stdout(&run(&["compare", "--help"]));
    assert!(
        help.contains("p95=10%") && help.contains("rps=5%"),
        "{help}"
    );
}
