//! End to end through the real `loadgen` binary: accuracy against a server with a
//! known latency distribution, exit codes, a real SIGTERM, stress, `check`, and
//! the main job. Usage errors and in-process stops: loadgen/tests/cli.rs.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn reports_the_true_percentiles_and_every_request() {
    let served = Served::default();
    let host = serve(known_latency_app(served.clone()));
    let out = out_dir("accuracy");
    let o = output(run_against("plan:40,2s;40,10s", &host, &out).args(["--scenario", "http-get"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&out);
    let truth = served.latencies_us.lock().unwrap().clone();
    assert!(
        truth.len() > 1_000,
        "too few requests to judge: {}",
        truth.len()
    );
    // Lossless: every request the server answered is counted, once.
    assert_eq!(s["total"]["requests"].as_u64().unwrap(), truth.len() as u64);
    let series_sum: u64 = s["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(series_sum, truth.len() as u64);
    for (field, p) in [("p50_us", 50.0), ("p99_us", 99.0)] {
        let measured = s["total"][field].as_u64().unwrap() as f64;
        let exact = exact_percentile(&truth, p) as f64;
        let err = (measured - exact).abs() / exact;
        assert!(
            err < 0.02,
            "{field}: measured {measured} us, truth {exact} us ({:.2}% off)",
            err * 100.0
        );
    }
}

#[test]
fn failed_threshold_exits_1_and_check_rejudges() {
    let host = serve(known_latency_app(Served::default()));
    let out = out_dir("threshold");
    let o = output(run_against("plan:5,1s;5,3s", &host, &out).args([
        "--threshold",
        "p50<10ms",
        "--threshold",
        "error-rate<1%",
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("FAIL") && stdout(&o).contains("Verdict: FAILED"));
    let s = summary(&out);
    assert_eq!(s["verdict"]["passed"], false);
    assert_eq!(s["schema_version"], 2);
    let file = out.join("summary.json");
    let again = run(&[
        "check",
        file.to_str().unwrap(),
        "--profile",
        "none",
        "--threshold",
        "p50<1s",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    let again = run(&[
        "check",
        file.to_str().unwrap(),
        "--profile",
        "none",
        "--threshold",
        "p99<100ms",
    ]);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn think_paces_every_user() {
    let served = Served::default();
    let host = serve(known_latency_app_fast(served.clone()));
    let out = out_dir("think");
    let o = output(run_against("plan:4,0s;4,3s", &host, &out).args([
        "--scenario",
        "http-get",
        "--think",
        "400ms..600ms",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // 4 users for 3 s, each pausing 400-600 ms after every request: about 24
    // requests (without the pause a fast server answers thousands).
    let n = served.latencies_us.lock().unwrap().len();
    assert!((12..=40).contains(&n), "{n} requests");
}

#[test]
fn sigterm_stops_gracefully_with_partial_results() {
    let host = serve(known_latency_app(Served::default()));
    let out = out_dir("sigterm");
    let child = run_against("plan:10,1s;10,60s", &host, &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(15));
    let s = summary(&out);
    assert_eq!(s["interrupted"], true);
    assert!(s["total"]["requests"].as_u64().unwrap() > 0);
    assert!(s["duration_secs"].as_f64().unwrap() < 30.0);
}

#[test]
fn stress_stops_at_the_breaking_point_and_names_it() {
    let host = serve(overloadable_app(Served::default(), 20));
    let out = out_dir("stress");
    let o = output(run_against("stress", &host, &out).args(["--users", "60", "--duration", "60s"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&out);
    let bp = &s["breaking_point"];
    assert!(bp.is_object(), "no breaking point: {}", stdout(&o));
    assert!(bp["failing"]["level"].as_u64().unwrap() > 20, "{bp}");
    assert!(bp["last_good"]["level"].as_u64().unwrap() <= 21, "{bp}");
    assert!(s["stopped_by"].as_str().unwrap().contains("breaking point"));
    assert!(
        s["duration_secs"].as_f64().unwrap() < 55.0,
        "the run stopped early"
    );
    assert!(stdout(&o).contains("Breaking point"));
}

#[test]
fn the_main_job_runs_every_persona_against_the_bundled_service() {
    let out = out_dir("bundled");
    let o = loadgen()
        .args([
            "run",
            "stages",
            "--users",
            "30",
            "--duration",
            "15s",
            // Judged on errors only: latency is the benchmarks' business, and in a
            // debug build the first logins' argon2 hashes alone take about a second.
            "--profile",
            "none",
            "--threshold",
            "error-rate<1%",
            "--out",
            out.to_str().unwrap(),
        ])
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("RABBITMQ_URL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert_eq!(s["config"]["bundled_target"], true);
    assert_eq!(s["total"]["failures"], 0, "{}", stdout(&o));
    let names: Vec<String> = s["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["name"].as_str().unwrap()
            )
        })
        .collect();
    for want in ["GET /books/{id}", "GET /books?q={word}", "POST /auth/login"] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}

/// The bundled service serves from a process of its own: 600 users each holding
/// a connection fit under an open-file limit of 1,000 (600 + 256 reserved), which
/// they would not if the service's 600 ends were this process's files too.
#[test]
fn the_bundled_service_keeps_its_connections_files_out_of_the_generator() {
    let out = out_dir("bundled-apart");
    let o = std::process::Command::new("bash")
        .args(["-c", "ulimit -n 1000 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "plan:600,2s;600,4s",
            "--scenario",
            "reader",
            "--think",
            "2s",
            "--profile",
            "none",
            "--threshold",
            "error-rate<1%",
            "--headless",
            "--out",
            out.to_str().unwrap(),
        ])
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("RABBITMQ_URL")
        .env_remove("LOADGEN_HOST")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert_eq!(s["config"]["bundled_target"], true);
    assert_eq!(s["connections"]["peak_open"], 600, "{}", s["connections"]);
    assert_eq!(s["total"]["failures"], 0, "{}", stdout(&o));
}

/// The README's commands are `cargo run --release -p scenarios -- run ...`: with the
/// bench tools in src/bin beside it, cargo runs the load test only when the
/// package names it as its default binary.
#[test]
fn cargo_run_of_the_package_runs_the_load_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let others = std::fs::read_dir(dir.join("src/bin")).map_or(0, |d| d.count());
    assert!(
        others == 0 || manifest.contains("default-run = \"loadgen\""),
        "scenarios/Cargo.toml needs default-run = \"loadgen\": src/bin holds {others} other binaries"
    );
    let readme = std::fs::read_to_string(dir.join("../README.md")).unwrap();
    assert!(readme.contains("cargo run --release -p scenarios -- run stages"));
}

#[test]
fn gnu_timeout_leaves_a_complete_run_folder() {
    let host = serve(known_latency_app_fast(Served::default()));
    let out = out_dir("gnu-timeout");
    // GNU timeout signals the process and then its group: two signals at once.
    let o = std::process::Command::new("timeout")
        .args([
            "3",
            env!("CARGO_BIN_EXE_loadgen"),
            "run",
            "plan:2,1s;2,60s",
            "--host",
            &host,
        ])
        .args([
            "--path",
            "/",
            "--think",
            "100ms",
            "--headless",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let s = summary(&out);
    assert_eq!(s["interrupted"], true);
    for file in ["junit.xml", "report.html", "stats.csv", "summary.md"] {
        assert!(out.join(file).exists(), "{file} missing: {}", stderr(&o));
    }
}

#[test]
fn the_quick_tries_end_on_time_with_their_reports() {
    // Each named shape at 10 s, closed and open, against the bundled service:
    // short shapes scale to zero-length steps, which once ran for ever.
    let runs: Vec<_> = ["stages", "stress", "soak", "spike"]
        .iter()
        .flat_map(|shape| [(*shape, "--users", "20"), (*shape, "--rate", "20")])
        .map(|(shape, flag, n)| {
            let out = out_dir(&format!("quick-{shape}{flag}"));
            let child = loadgen()
                .args([
                    "run",
                    shape,
                    flag,
                    n,
                    "--duration",
                    "10s",
                    "--headless",
                    "--profile",
                    "none",
                ])
                .args(["--allow-failures", "--out", out.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (format!("{shape} {flag}"), out, child, Instant::now())
        })
        .collect();
    for (what, out, child, started) in runs {
        let o = child.wait_with_output().unwrap();
        let took = started.elapsed();
        assert!(o.status.success(), "{what}: {:?}\n{}", o.status, stderr(&o));
        assert!(took < Duration::from_secs(40), "{what} took {took:?}");
        let s = summary(&out);
        assert!(
            s["duration_secs"].as_f64().unwrap() <= 10.5,
            "{what}: {}",
            s["duration_secs"]
        );
    }
}

#[test]
fn check_rejudges_by_the_runs_own_rules_unless_given_others() {
    let host = serve(known_latency_app_fast(Served::default()));
    let out = out_dir("check-own-rules");
    let o = run(&[
        "run",
        "plan:2,0s;2,2s",
        "--host",
        &host,
        "--path",
        "/",
        "--threshold",
        "p99<1ms",
        "--think",
        "100ms",
        "--out",
        out.to_str().unwrap(),
    ]);
    let file = out.join("summary.json");
    let again = run(&["check", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), o.status.code(), "{}", stdout(&again));
    assert!(stdout(&again).contains("p99<1ms"));
    // With --host and no profile given, no profile judged the run.
    assert_eq!(summary(&out)["config"]["profile"], "none");
}

#[test]
fn new_writes_a_crate_cargo_resolves_offline() {
    let dir = out_dir("new-crate").join("my-load-test");
    let o = run(&["new", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "src/main.rs",
        "README.md",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }
    // The lock is the framework's: resolving the crate needs no network.
    let meta = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--depth", "1", "-e", "normal"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        meta.status.success(),
        "{}",
        String::from_utf8_lossy(&meta.stderr)
    );
    let again = run(&["new", dir.to_str().unwrap()]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing crate is not overwritten"
    );
}
