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
