//! One `loadgen run` in this process against a test server, headless, judged by
//! no profile, into a fresh temporary folder: its summary.json and the folder.
//! Runs take turns: goose's stop switch is process-wide, and timed runs must
//! not share the CPU with each other.

#![allow(dead_code)]

use clap::Parser;
use loadgen::cli::Cli;
use loadgen::App;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

static ONE_RUN: Mutex<()> = Mutex::new(());

/// `loadgen run ARGS --host HOST --path / ...`; asserts it exits 0.
pub fn run_in(test: &str, host: &str, args: &[&str]) -> (Value, PathBuf) {
    let _one = ONE_RUN.lock().unwrap_or_else(|p| p.into_inner());
    let out = std::env::temp_dir().join(format!("loadgen-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let tail = [
        "--host",
        host,
        "--path",
        "/",
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ];
    let cli = Cli::try_parse_from([&["loadgen", "run"][..], args, &tail].concat()).unwrap();
    let code = App::new().execute(&cli, &CancellationToken::new()).unwrap();
    assert_eq!(code, 0, "{test}: exit {code}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (serde_json::from_str(&summary).unwrap(), out)
}

/// The summary of `run_in`.
pub fn run(test: &str, host: &str, args: &[&str]) -> Value {
    run_in(test, host, args).0
}

/// What `execute` made of one run: its exit code, its summary (if one was
/// written), and how long it took from start to end.
pub struct Ran {
    pub code: u8,
    pub summary: Option<Value>,
    pub out: PathBuf,
    pub wall: std::time::Duration,
}

/// `loadgen run ARGS --host HOST --headless --out ...` of `app` (its own
/// scenarios), whatever its exit code; errors count as exit codes.
pub fn run_app(test: &str, app: App, host: &str, args: &[&str]) -> Ran {
    let _one = ONE_RUN.lock().unwrap_or_else(|p| p.into_inner());
    let out = std::env::temp_dir().join(format!("loadgen-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let tail = ["--host", host, "--headless", "--out", out.to_str().unwrap()];
    let cli = Cli::try_parse_from([&["loadgen", "run"][..], args, &tail].concat()).unwrap();
    let started = std::time::Instant::now();
    let code = match app.execute(&cli, &CancellationToken::new()) {
        Ok(code) => code,
        Err(e) => e.exit_code(),
    };
    let wall = started.elapsed();
    let summary = std::fs::read_to_string(out.join("summary.json"))
        .ok()
        .map(|text| serde_json::from_str(&text).unwrap());
    Ran {
        code,
        summary,
        out,
        wall,
    }
}

/// The row of `method name` in a summary's endpoints.
pub fn row<'a>(summary: &'a Value, method: &str, name: &str) -> Option<&'a Value> {
    summary["endpoints"]
        .as_array()?
        .iter()
        .find(|r| r["method"] == method && r["name"] == name)
}

/// The errors of one endpoint: (kind, message, count).
pub fn errors_of(summary: &Value, name: &str) -> Vec<(String, String, u64)> {
    summary["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == name)
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
                e["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}
