//! summary.json files that lie: one validation on read, so `check`, `report`,
//! `compare` and `run --baseline` refuse the same files (exit 2, naming the
//! problem) instead of judging made-up figures; and what `compare` could not
//! compare is said.

use clap::Parser;
use loadgen::cli::Cli;
use loadgen::judge::regression::{compare, Limits};
use loadgen::report::summary::Summary;
use loadgen::{App, Error, ScenarioDef};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

fn execute(args: &[&str]) -> Result<u8, Error> {
    let cli = Cli::try_parse_from([&["loadgen"], args].concat()).expect("the flags parse");
    App::new()
        .scenario(ScenarioDef::new("reader"))
        .execute(&cli, &CancellationToken::new())
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baselines/stages-50u-30s.json")
}

fn baseline() -> Value {
    serde_json::from_str(&std::fs::read_to_string(baseline_path()).unwrap()).unwrap()
}

/// `v` written as `<name>/summary.json` in a fresh folder.
fn write(name: &str, v: &Value) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("summaries-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("summary.json");
    std::fs::write(&file, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    file
}

type Corruption = fn(&mut Value);

#[test]
fn every_command_refuses_a_corrupt_summary_naming_the_problem() {
    let cases: [(&str, Corruption, &str); 8] = [
        ("zero-time", |s| s["duration_secs"] = 0.into(), "duration"),
        (
            "negative-time",
            |s| s["duration_secs"] = (-5.0).into(),
            "duration",
        ),
        (
            "bad-hdr",
            |s| s["endpoints"][0]["hdr"] = "AAAA".into(),
            "HDR",
        ),
        (
            "count-disagrees",
            |s| s["endpoints"][1]["requests"] = 46.into(),
            "histogram holds",
        ),
        (
            "percentile-disagrees",
            |s| s["endpoints"][0]["p95_us"] = 1.into(),
            "p95",
        ),
        ("negative-rps", |s| s["total"]["rps"] = (-1.0).into(), "rps"),
        (
            "more-failures-than-requests",
            |s| s["endpoints"][2]["failures"] = 1_000.into(),
            "failures",
        ),
        (
            "total-is-not-the-sum",
            |s| s["endpoints"].as_array_mut().unwrap().truncate(3),
            "sum",
        ),
    ];
    let base = baseline_path();
    let base = base.to_str().unwrap();
    for (name, corrupt, needle) in cases {
        let mut s = baseline();
        corrupt(&mut s);
        let file = write(name, &s);
        let f = file.to_str().unwrap();
        for args in [
            vec!["check", f],
            vec!["report", f],
            vec!["compare", base, f],
            vec!["compare", f, base],
            vec![
                "run",
                "stages",
                "--baseline",
                f,
                "--host",
                "http://127.0.0.1:9",
            ],
        ] {
            match execute(&args) {
                Err(e) => {
                    assert_eq!(e.exit_code(), 2, "{name}: {args:?}: {e}");
                    let text = e.to_string();
                    assert!(text.contains(needle), "{name}: {args:?}: {text}");
                    assert!(text.contains(f), "{name}: names the file: {text}");
                }
                Ok(code) => panic!("{name}: {args:?} accepted it (exit {code})"),
            }
        }
        assert!(
            !file.with_file_name("report.html").exists(),
            "{name}: rendered"
        );
    }
}

#[test]
fn compare_says_what_it_did_not_compare() {
    let b = Summary::read(&baseline_path()).unwrap();
    let mut renamed = baseline();
    renamed["endpoints"][0]["name"] = "/books/{isbn}".into();
    let c = Summary::read(&write("one-renamed", &renamed)).unwrap();
    let notes = compare(&b, &c, &Limits::default()).notes.join("\n");
    assert!(
        notes.contains("not compared") && notes.contains("GET /books/{id}"),
        "{notes}"
    );
    assert!(notes.contains("GET /books/{isbn}"), "{notes}");

    // Runs with no endpoint in common compare nothing but their totals: a usage error.
    for e in renamed["endpoints"].as_array_mut().unwrap() {
        e["name"] = format!("/v2{}", e["name"].as_str().unwrap()).into();
    }
    let file = write("all-renamed", &renamed);
    let err = execute(&[
        "compare",
        baseline_path().to_str().unwrap(),
        file.to_str().unwrap(),
    ])
    .unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    let text = err.to_string();
    assert!(text.contains("no endpoint in common"), "{text}");
    assert!(text.contains("POST /loans/{id}/return"), "{text}");
}
