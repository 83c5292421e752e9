//! The open model against a server that answers in 10 ms but freezes every
//! response for 1 s once every 5 s (a GC pause, a failover). Arrivals at a
//! fixed rate land uniformly in time, so the truth is known: 80% of requests
//! take 10 ms and 20% wait out the rest of a freeze, uniform up to 1 s more:
//! P90 = 510 ms, P99 = 960 ms. The open model reports that truth; the closed
//! model, whose users stop sending while the server stalls, does not.

#[path = "support/schema.rs"]
mod schema;
#[path = "support/server.rs"]
mod server;
#[path = "support/run.rs"]
mod support_run;

use serde_json::Value;
use server::{Behaviour, Server};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PERIOD: f64 = 5.0;
/// Each period freezes from 1.5 s to 2.5 s after the server's first request
/// (the run's start, whenever the run got its turn): mid-run, so what waited
/// has drained by the end.
const FREEZE: std::ops::Range<f64> = 1.5..2.5;
const SERVICE: Duration = Duration::from_millis(10);

fn freezing_server() -> Server {
    let t0 = std::sync::OnceLock::<Instant>::new();
    Server::start(Behaviour {
        latency: Arc::new(move |_| {
            let t = t0.get_or_init(Instant::now).elapsed().as_secs_f64() % PERIOD;
            let frozen = if FREEZE.contains(&t) {
                FREEZE.end - t
            } else {
                0.0
            };
            Duration::from_secs_f64(frozen) + SERVICE
        }),
        ..Behaviour::default()
    })
}

fn run(test: &str, server: &Server, args: &[&str]) -> Value {
    run_in(test, server, args).0
}

fn run_in(test: &str, server: &Server, args: &[&str]) -> (Value, std::path::PathBuf) {
    support_run::run_in(&format!("open-{test}"), &server.url, args)
}

fn ms(s: &Value, field: &str) -> f64 {
    s["total"][field]
        .as_f64()
        .unwrap_or_else(|| panic!("no total.{field}"))
        / 1_000.0
}

fn within(measured: f64, truth: f64, share: f64) -> bool {
    (measured - truth).abs() <= truth * share
}

#[test]
fn the_open_model_reports_the_freezes_and_the_closed_model_hides_them() {
    let server = freezing_server();
    // 200 arrivals/s for one whole period, enough users to cover a freeze.
    let (open, dir) = run_in(
        "truth",
        &server,
        &["rate:200,0s;200,5s", "--max-users", "400"],
    );
    schema::assert_valid_summary(&open);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("Load model: open") && page.contains("P99 from send"));
    assert_eq!(open["shape"]["model"], "open");
    assert_eq!(open["total"]["requests"].as_u64().unwrap(), 1_000);
    assert_eq!(open["generator"]["arrivals"], 1_000);
    assert_eq!(open["generator"]["dropped"], 0);
    let (p90, p99) = (ms(&open, "p90_us"), ms(&open, "p99_us"));
    assert!(
        within(p90, 510.0, 0.05),
        "open-model P90 {p90} ms, truth 510 ms"
    );
    assert!(
        within(p99, 960.0, 0.05),
        "open-model P99 {p99} ms, truth 960 ms"
    );
    // From the send, the users that covered a freeze waited as long.
    assert!(within(ms(&open, "service_p99_us"), 960.0, 0.05));
    assert_eq!(open["generator_bound"], false, "{}", open["generator"]);

    // 20 users, no pause, the same server: the freezes nearly vanish.
    let closed = run("closed", &server, &["plan:20,0s;20,5s"]);
    let closed_p99 = ms(&closed, "p99_us");
    assert!(
        closed_p99 < 0.25 * 960.0,
        "closed-model P99 {closed_p99} ms"
    );
    let served = server.requests();
    let counted =
        open["total"]["requests"].as_u64().unwrap() + closed["total"]["requests"].as_u64().unwrap();
    assert_eq!(
        counted, served,
        "every request the server answered is counted once"
    );
}

#[test]
fn arrivals_waiting_for_users_keep_their_due_time() {
    let server = freezing_server();
    // 6 users cannot cover a 1 s freeze at 200/s: the rest wait in order in
    // the generator, timed from when they were due. Each one due x s into a
    // freeze answers (1 - x) + x * 200/600 s later: the slowest 1% stay true.
    let s = run(
        "few-users",
        &server,
        &["rate:200,0s;200,5s", "--max-users", "6"],
    );
    assert_eq!(s["generator"]["dropped"], 0);
    assert!(
        s["generator"]["max_queued"].as_u64().unwrap() > 100,
        "{}",
        s["generator"]
    );
    let p99 = ms(&s, "p99_us");
    assert!(
        within(p99, 960.0, 0.05),
        "P99 from the due time {p99} ms, truth 960 ms"
    );
    // From the send only the 6 requests in hand when it froze saw the freeze.
    let service = ms(&s, "service_p99_us");
    assert!(service < 100.0, "service-time P99 {service} ms");
}

#[test]
fn a_full_queue_drops_arrivals_and_counts_them() {
    let server = freezing_server();
    let s = run(
        "drops",
        &server,
        &[
            "rate:200,0s;200,5s",
            "--max-users",
            "6",
            "--max-queue",
            "50",
        ],
    );
    let dropped = s["generator"]["dropped"].as_u64().unwrap();
    let requests = s["total"]["requests"].as_u64().unwrap();
    assert!(dropped > 50, "{dropped} dropped");
    assert_eq!(
        s["generator"]["max_queued"], 50,
        "the queue filled to its bound"
    );
    assert_eq!(
        requests + dropped,
        1_000,
        "each arrival ran or was counted as dropped"
    );
    assert_eq!(requests, server.requests());
    let dropped_per_second: u64 = s["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(dropped_per_second, dropped);
}

#[test]
fn a_starved_generator_says_so_and_a_quiet_one_does_not() {
    let server = Server::start(Behaviour::default());
    // Its first arrivals were once late by the generator's own setup (25-55
    // ms of clients and TLS roots after the clock started), which marked
    // every short quiet run. A quiet run is still only quiet on a quiet
    // machine: the other tests of this file share 2 cores, and three late
    // starts (its P99 of 300) mark it, truly. So it gets three tries; one
    // must come out clean. A generator that marked every run fails all three.
    let mut tries: Vec<Value> = Vec::new();
    for n in 1..=3 {
        let q = run(&format!("quiet-{n}"), &server, &["rate:100,0s;100,3s"]);
        let clean = q["generator_bound"] == false;
        tries.push(q);
        if clean {
            break;
        }
    }
    let quiet = tries.last().unwrap();
    assert_eq!(
        quiet["generator_bound"],
        false,
        "3 tries: {:?}",
        tries.iter().map(|q| &q["generator"]).collect::<Vec<_>>()
    );
    assert!(quiet["verdict"]["figures_understate_latency"].is_null());
    // Far more arrivals than one process can start, and users enough to take
    // every core: it falls behind its schedule and runs out of CPU.
    let starved = run(
        "starved",
        &server,
        &[
            "rate:300000,0s;300000,6s",
            "--max-users",
            "1000",
            "--max-queue",
            "1000",
        ],
    );
    assert_eq!(starved["generator_bound"], true, "{}", starved["generator"]);
    let why = starved["generator"]["bound_by"][0].as_str().unwrap();
    assert!(why.contains("late") || why.contains("CPU"), "{why}");
    assert!(starved["verdict"]["figures_understate_latency"]
        .as_str()
        .unwrap()
        .contains("fell behind"));
}
