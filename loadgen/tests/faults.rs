//! Faults during load, end to end in this process against a test server whose
//! fault is a file: the server fails every request while the file exists, and
//! `--at` creates and removes it on the run's clock. Checks the abort criteria
//! (`--abort-when`), the fault timeline (logs, exit statuses) and the recovery
//! figures in summary.json, the reports and `loadgen check`.

#[path = "support/schema.rs"]
mod schema;
#[path = "support/server.rs"]
mod server;

use clap::Parser;
use loadgen::cli::Cli;
use loadgen::App;
use serde_json::Value;
use server::{Behaviour, Server};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

static ONE_RUN: Mutex<()> = Mutex::new(());

fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-faults-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server answering 500 while `fault` exists, else 200, each after `latency`.
fn server_failing_while(fault: &Path, latency: std::time::Duration) -> Server {
    let fault = fault.to_path_buf();
    Server::start(Behaviour {
        latency: Arc::new(move |_| latency),
        status: Arc::new(move |_| if fault.exists() { 500 } else { 200 }),
        ..Behaviour::default()
    })
}

/// `loadgen run PLAN` in this process against `host` (5 users GETting `/` with
/// 20 ms pauses, no profile, headless, into `out`) with `extra` flags: its exit
/// code and the run's summary.json.
fn run(plan: &str, host: &str, extra: &[&str], out: &Path) -> (u8, Value) {
    let _one = ONE_RUN.lock().unwrap_or_else(|p| p.into_inner());
    let base = [
        "loadgen", "run", plan, "--host", host, "--path", "/", "--think", "20ms",
    ];
    let tail = [
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ];
    let cli = Cli::try_parse_from([&base[..], extra, &tail].concat()).unwrap();
    let code = App::new().execute(&cli, &CancellationToken::new()).unwrap();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (code, serde_json::from_str(&text).unwrap())
}

#[test]
fn an_abort_rule_stops_the_run_within_a_second_of_its_window_filling() {
    let dir = folder("abort");
    let fault = dir.join("fault");
    let server = server_failing_while(&fault, std::time::Duration::from_millis(2));
    let out = dir.join("run");
    let touch = format!("touch {}", fault.display());
    let (code, s) = run(
        "plan:5,30s",
        &server.url,
        &[
            "--abort-when",
            "error-rate>50% for 3s",
            "--at",
            "3s",
            &touch,
        ],
        &out,
    );
    assert_eq!(code, 1, "an aborted run fails");
    let aborted = &s["aborted_by"];
    assert_eq!(aborted["rule"], "error-rate>50% for 3s");
    // Failing from second 3 (the fault's), the window is full at the end of second 5.
    assert_eq!(
        (aborted["from_second"].as_u64(), aborted["second"].as_u64()),
        (Some(3), Some(5))
    );
    let series = s["series"].as_array().unwrap();
    assert!(
        series.len() <= 7,
        "the run went on past second 6: {} seconds",
        series.len()
    );
    assert!(
        s["duration_secs"].as_f64().unwrap() < 9.0,
        "{}",
        s["duration_secs"]
    );
    assert!(s["stopped_by"]
        .as_str()
        .unwrap()
        .starts_with("abort rule 'error-rate>50% for 3s' fired"));
    assert!(s["verdict"]["aborted"]
        .as_str()
        .unwrap()
        .contains("from 3s to 5s"));
    assert_eq!(s["verdict"]["passed"], false);
    assert_eq!(s["config"]["abort_when"][0], "error-rate>50% for 3s");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fault_on_the_timeline_is_logged_and_its_recovery_measured_and_judged() {
    let dir = folder("recovery");
    let fault = dir.join("fault");
    // 20 ms answers: the recovery band (twice the baseline's median P99 + 5 ms)
    // is then wide enough that a busy machine's stray 10 ms does not leave it.
    let server = server_failing_while(&fault, std::time::Duration::from_millis(20));
    let out = dir.join("run");
    let touch = format!("echo breaking; touch {}", fault.display());
    let heal = format!("rm {}; exit 7", fault.display());
    let (code, s) = run(
        "plan:5,22s",
        &server.url,
        &[
            "--threshold",
            "recovery<30s",
            "--threshold",
            "error-rate<1% for 5s",
            // The same, judged on the request's own per-second series.
            "--threshold",
            "error-rate<1% for 5s for GET /",
            "--abort-when",
            "error-rate>50% for 5s",
            "--at",
            "5s",
            &touch,
            "--at",
            "8s",
            &heal,
            // 5 s back in the band count as recovered (10 by default).
            "--recovery-hold",
            "5s",
        ],
        &out,
    );
    assert_eq!(
        code, 0,
        "3 s of errors break neither 5 s rule: {:#}",
        s["thresholds"]
    );
    assert_eq!(s["aborted_by"], Value::Null);
    let faults = s["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2);
    let (first, second) = (&faults[0], &faults[1]);
    assert_eq!(
        (first["exit_code"].as_i64(), first["outcome"].as_str()),
        (Some(0), Some("exit 0"))
    );
    assert_eq!(second["outcome"], "exit 7");
    let started = first["started_secs"].as_f64().unwrap();
    assert!((5.0..5.5).contains(&started), "started at {started}");
    let log = std::fs::read_to_string(out.join(first["log"].as_str().unwrap())).unwrap();
    assert_eq!(log, "breaking\n");
    assert_eq!(first["log"], "faults/1-at-5s.log");

    // Seconds 5, 6 and 7 fail; from 8 (or 9, if the heal lands late in second 8) back in the band.
    let r = &first["recovery"];
    assert_eq!(r["disturbed_from"].as_u64(), Some(5));
    let after = r["recovered_after_secs"].as_u64().unwrap();
    assert!((3..=4).contains(&after), "recovered after {after} s: {r:#}");
    let failures = s["total"]["failures"].as_u64().unwrap();
    assert!(failures > 50, "{failures} failures");
    assert_eq!(
        r["lost"].as_u64(),
        Some(failures),
        "every failure fell in the fault's time"
    );
    assert_eq!(r["during_failures"].as_u64(), Some(failures));
    assert_eq!(
        (r["hold_secs"].as_u64(), r["baseline_window_secs"].as_u64()),
        (Some(5), Some(30))
    );
    // The heal's baseline includes the failing seconds: nothing to recover from.
    assert_eq!(second["recovery"]["recovered_after_secs"].as_u64(), Some(0));

    let rule = |text: &str| {
        s["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["rule"] == text)
            .unwrap()
            .clone()
    };
    assert_eq!(rule("recovery<30s")["passed"], true);
    assert_eq!(rule("recovery<30s")["observed_text"], format!("{after}s"));
    // The failing stretch is seconds 5-7, or 5-8 when the heal lands late in second 8.
    assert_eq!(
        rule("error-rate<1% for 5s")["observed"].as_f64(),
        Some(after as f64)
    );
    assert_eq!(
        rule("error-rate<1% for 5s for GET /")["observed"].as_f64(),
        Some(after as f64)
    );
    let kept = &s["request_series"][0];
    assert_eq!(
        (kept["method"].as_str(), kept["name"].as_str()),
        (Some("GET"), Some("/"))
    );
    assert_eq!(
        kept["points"].as_array().unwrap().len(),
        s["series"].as_array().unwrap().len()
    );
    schema::assert_valid_summary(&s);

    // The reports show the faults; `check` judges recovery and windows from summary.json.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(r#"<table id="faults">"#) && html.contains(r#"<g class="marker">"#));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| Fault | At | Outcome | Recovery |"), "{md}");
    assert!(html.contains("Recovered: 5 s in a row back within the band of the 30 s before"));
    let summary = out.join("summary.json");
    let check = |rule: &str| {
        let args = [
            "loadgen",
            "check",
            summary.to_str().unwrap(),
            "--profile",
            "none",
            "--threshold",
            rule,
        ];
        App::new()
            .execute(
                &Cli::try_parse_from(args).unwrap(),
                &CancellationToken::new(),
            )
            .unwrap()
    };
    assert_eq!(check("recovery<1s"), 1);
    assert_eq!(check("recovery<30s"), 0);
    // The failing stretch lasts `after` seconds (3, or 4 when the heal lands late).
    let longer = after + 1;
    assert_eq!(check(&format!("error-rate<1% for {after}s")), 1);
    assert_eq!(check(&format!("error-rate<1% for {longer}s")), 0);
    assert_eq!(check(&format!("error-rate<1% for {after}s for GET /")), 1);
    assert_eq!(check(&format!("error-rate<1% for {longer}s for GET /")), 0);
    // No series was kept for a request no windowed rule named during the run.
    assert_eq!(check(&format!("error-rate<1% for {longer}s for POST /")), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
