//! The CLI in this process (`App::execute` with a stop token): usage errors and
//! their exit codes, an unreachable target, a run stopped by its token, and
//! `shapes`. Signals, the dashboard and distributed runs stay real-process
//! tests (scenarios/tests/).

#[path = "support/server.rs"]
mod server;

use clap::Parser;
use loadgen::cli::Cli;
use loadgen::{App, Error, ScenarioDef};
use server::{Behaviour, Server};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn app() -> App {
    App::new().scenario(ScenarioDef::new("reader"))
}

fn execute(args: &[&str], interrupt: &CancellationToken) -> Result<u8, Error> {
    let cli = Cli::try_parse_from([&["loadgen"], args].concat()).expect("the flags parse");
    app().execute(&cli, interrupt)
}

fn out_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn bad_input_is_exit_2_naming_the_problem_and_nothing_runs() {
    let out = out_dir("usage");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["run", "stages", "--threshold", "p95<fast"],
            "bad threshold 'p95<fast'",
        ),
        (vec!["run", "ramp"], "unknown shape 'ramp'"),
        (vec!["run", "plan:10,5q"], "unknown unit"),
        (
            vec!["run", "stages", "--profile", "fast"],
            "unknown profile 'fast'",
        ),
        (
            vec!["run", "stages", "--scenario", "nobody"],
            "unknown scenario 'nobody'",
        ),
        (
            vec!["run", "stages", "--scenario", "http-get"],
            "needs at least one --path",
        ),
        (
            vec!["run", "stages", "--think", "7s..3s"],
            "--think: '7s..3s'",
        ),
        (
            vec!["run", "stages", "--baseline", "/nonexistent.json"],
            "cannot read",
        ),
        (vec!["check", "/nonexistent/summary.json"], "cannot read"),
        (vec!["shapes", "ramp"], "unknown shape 'ramp'"),
        // Sizes past loadgen's limits (shape::limits), never wrapped around.
        (
            vec!["run", "plan:18446744073709551615,10s"],
            "at most 1000000 users",
        ),
        (
            vec!["run", "plan:10,18446744073709551615s;10,10s"],
            "at most 30 days",
        ),
        (vec!["run", "plan:10,400h;10,400h"], "at most 30 days"),
        (
            vec!["run", "stages", "--users", "9223372036854775808"],
            "at most 1000000 users",
        ),
        (
            vec!["run", "stages", "--rate", "20000000"],
            "at most 10000000 iterations/s",
        ),
        (
            vec!["run", "rate:20000000,10s"],
            "at most 10000000 iterations/s",
        ),
        (
            vec!["run", "rate:100,10s", "--max-users", "2000000"],
            "--max-users",
        ),
        (
            vec!["run", "rate:100,10s", "--max-queue", "100000000000"],
            "--max-queue",
        ),
        (
            vec!["shapes", "stages", "--users", "9223372036854775808"],
            "at most 1000000 users",
        ),
        (
            vec!["shapes", "plan:10,18446744073709551615s;10,10s"],
            "at most 30 days",
        ),
        // Hosts loadgen cannot speak to.
        (
            vec!["run", "stages", "--host", "ftp://127.0.0.1:9"],
            "http or https",
        ),
        (
            vec![
                "run",
                "stages",
                "--host",
                "https://127.0.0.1:9",
                "--ca",
                "/nonexistent.pem",
            ],
            "--ca /nonexistent.pem: cannot read PEM certificates",
        ),
        (
            vec!["run", "stages", "--connect-to", "api.test:443:127.0.0.1"],
            "HOST:PORT:ADDR:PORT",
        ),
        (
            vec!["run", "stages", "--host", "http://127.0.0.1:9/a?b=c"],
            "query",
        ),
        // Limits without their unit are ambiguous: refused, saying how to write them.
        (
            vec!["run", "stages", "--threshold", "error-rate<1"],
            "write 1%",
        ),
        (
            vec!["run", "stages", "--threshold", "error-rate<0.01"],
            "write 1%",
        ),
        (
            vec!["run", "stages", "--threshold", "error-rate<150%"],
            "at most 100%",
        ),
        (vec!["run", "stages", "--threshold", "p95<5"], "no unit"),
        // Abort criteria and fault actions: the rule or the action named.
        (
            vec!["run", "stages", "--abort-when", "p95>>5s for 30s"],
            "bad threshold 'p95>>5s for 30s'",
        ),
        (
            vec!["run", "stages", "--abort-when", "error-rate>1% for 30q"],
            "unknown unit 'q'",
        ),
        (
            vec!["run", "stages", "--threshold", "p95<1s for 30s for 10s"],
            "at most one window",
        ),
        (
            vec!["run", "plan:5,10s", "--at", "20s", "redis-cli shutdown"],
            "--at 20s 'redis-cli shutdown': the run ends at 10s",
        ),
        (
            vec!["run", "stages", "--recovery-hold", "500ms"],
            "--recovery-hold: duration '500ms'",
        ),
        (
            vec!["run", "stages", "--recovery-baseline", "2s"],
            "--recovery-baseline: '2s' is too short: at least 3s",
        ),
        (
            vec!["run", "stress", "--stop-error-rate", "0.01"],
            "--stop-error-rate: '0.01' has no %",
        ),
        (
            vec!["run", "stress", "--stop-p99", "500"],
            "--stop-p99: '500' has no unit",
        ),
        (
            vec!["run", "stages", "--think", "500"],
            "--think: '500' has no unit",
        ),
        (
            vec![
                "compare",
                "/a.json",
                "/b.json",
                "--max-regression",
                "p95=10",
            ],
            "p95=10",
        ),
        (
            vec![
                "compare",
                "/a.json",
                "/b.json",
                "--max-regression",
                "rps=150%",
            ],
            "at most 100%",
        ),
        (
            vec![
                "compare",
                "/a.json",
                "/b.json",
                "--max-regression",
                "error-rate=1%",
            ],
            "1pp",
        ),
        // A manager address that is no address is a usage error, not a lost manager.
        (
            vec![
                "worker",
                "--manager",
                "not a host",
                "--connect-timeout",
                "1s",
            ],
            "HOST:PORT",
        ),
        (
            vec![
                "worker",
                "--manager",
                "127.0.0.1",
                "--connect-timeout",
                "1s",
            ],
            "HOST:PORT",
        ),
    ] {
        let mut args = args.clone();
        if args[0] == "run" {
            args.extend(["--out", o]);
        }
        match execute(&args, &CancellationToken::new()) {
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
                assert!(e.to_string().contains(needle), "{args:?}: {e}");
            }
            Ok(code) => panic!("{args:?} ran (exit {code})"),
        }
    }
    assert!(
        !out.exists(),
        "nothing is written for a run that never started"
    );
    // A flag clap rejects is a usage error too (exit 2 from `run_cli`).
    let code = app().run_cli(
        ["loadgen", "run", "stages", "--duration", "soon"],
        &CancellationToken::new(),
    );
    assert_eq!(code, 2);
    // So are times past 30 days, and request timeouts of none or of ages.
    let huge = "18446744073709551615s";
    for args in [
        &[
            "run",
            "stages",
            "--host",
            "http://127.0.0.1:9",
            "--duration",
            "800h",
        ][..],
        &[
            "run",
            "stages",
            "--host",
            "http://127.0.0.1:9",
            "--timeout",
            "0",
        ],
        &[
            "run",
            "stages",
            "--host",
            "http://127.0.0.1:9",
            "--timeout",
            "18446744073709551615",
        ],
        &[
            "worker",
            "--manager",
            "127.0.0.1:9",
            "--connect-timeout",
            huge,
        ],
        &[
            "manager",
            "stages",
            "--expect-workers",
            "1",
            "--bind",
            "127.0.0.1:0",
            "--host",
            "http://127.0.0.1:9",
            "--join-timeout",
            huge,
        ],
    ] {
        let code = app().run_cli([&["loadgen"], args].concat(), &CancellationToken::new());
        assert_eq!(code, 2, "{args:?}");
    }
}

#[test]
fn more_users_than_open_files_is_exit_2_before_anything_starts() {
    let hard = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let Ok(hard) = hard.parse::<u64>() else {
        println!("skipped: the open-file limit is {hard:?}, not a number");
        return;
    };
    let users = (hard + 1).to_string();
    let plan = format!("plan:{users},1s;{users},1s");
    let args = ["run", &plan, "--host", "http://127.0.0.1:9", "--path", "/"];
    let err = execute(&args, &CancellationToken::new()).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("may open only {hard} files")),
        "{text}"
    );
    assert!(text.contains("--connections shared"), "{text}");
    // The shared pool needs no file per user: the same plan gets as far as the target.
    let shared = [&args[..], &["--connections", "shared"]].concat();
    assert_eq!(
        execute(&shared, &CancellationToken::new())
            .unwrap_err()
            .exit_code(),
        3
    );
}

#[test]
fn unreachable_host_is_exit_3_within_seconds() {
    let started = Instant::now();
    let out = out_dir("unreachable");
    let args = [
        "run",
        "stages",
        "--host",
        "http://127.0.0.1:9",
        "--path",
        "/",
        "--out",
        out.to_str().unwrap(),
    ];
    let err = execute(&args, &CancellationToken::new()).unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !out.exists(),
        "nothing is written for a run that never started"
    );
}

#[test]
fn a_cancelled_token_stops_the_run_with_partial_results() {
    let server = Server::start(Behaviour {
        latency: Arc::new(|_| Duration::from_millis(20)),
        ..Behaviour::default()
    });
    let out = out_dir("interrupt");
    let interrupt = CancellationToken::new();
    let stopper = {
        let interrupt = interrupt.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            interrupt.cancel();
        })
    };
    let started = Instant::now();
    let args = [
        "run",
        "plan:5,1s;5,60s",
        "--host",
        &server.url,
        "--path",
        "/",
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ];
    let code = execute(&args, &interrupt).unwrap();
    stopper.join().unwrap();
    assert_eq!(code, 130);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["interrupted"], true);
    let requests = s["total"]["requests"].as_u64().unwrap();
    assert!(
        requests > 0 && requests == server.requests(),
        "{requests} vs {}",
        server.requests()
    );
    assert!(out.join("report.html").exists() && out.join("latency.hlog").exists());
}

#[test]
fn shapes_prints_every_named_plan() {
    assert_eq!(execute(&["shapes"], &CancellationToken::new()).unwrap(), 0);
    let spike = loadgen::plan::scaled_shape(
        "spike",
        &loadgen::cli::ScaleArgs {
            users: Some(500),
            rate: None,
            duration: Some(120),
        },
    )
    .unwrap();
    let text = loadgen::shape::print::describe(&spike);
    assert!(text.contains("peak 500 users, 2m in all"), "{text}");
}
