//! Metrics out and in, end to end in this process: a run with `--prometheus`
//! is scraped while it runs (its text parsed, and checked by `promtool` where
//! installed) and its final counters equal summary.json's; `--scrape` reads a
//! test server exposing known metrics each second, and a target that never
//! answers is noted without failing the run.

#[path = "support/server.rs"]
mod server;

use clap::Parser;
use loadgen::cli::Cli;
use loadgen::observe::prom_text::{self, Exposition};
use loadgen::App;
use serde_json::Value;
use server::{Behaviour, Server};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-observe-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server whose `/metrics` says: 7 in flight, a counter growing by 100 a
/// second since it started, one labelled gauge of our own and one we do not ask for.
fn metrics_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let started = Instant::now();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let shed = (started.elapsed().as_secs_f64() * 100.0).round();
            let body = format!(
                "# HELP http_requests_in_flight In flight.\n# TYPE http_requests_in_flight gauge\n\
                 http_requests_in_flight 7\n\
                 # TYPE http_requests_shed_total counter\nhttp_requests_shed_total {shed}\n\
                 # TYPE queue_depth gauge\nqueue_depth{{queue=\"a\"}} 3\n\
                 # TYPE not_asked_for gauge\nnot_asked_for 1\n"
            );
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// GET http://127.0.0.1:port/metrics; `None` when nothing answers.
fn get_metrics(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_string();
    text.starts_with("HTTP/1.1 200").then_some(body)
}

fn sum(e: &Exposition, name: &str) -> f64 {
    e.samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// `promtool check metrics` on `text`; `None` when promtool is not installed.
fn promtool_check(text: &str) -> Option<String> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool check metrics failed: {said}\n{text}"
    );
    Some(said)
}

#[test]
fn a_run_is_scraped_live_and_ends_with_the_summarys_counters_and_the_servers_series() {
    let target = Server::start(Behaviour {
        latency: Arc::new(|_| Duration::from_millis(2)),
        status: Arc::new(|i| if i % 10 == 0 { 503 } else { 200 }),
        ..Behaviour::default()
    });
    let metrics = metrics_server();
    let dead = format!("http://127.0.0.1:{}/metrics", free_port());
    let port = free_port();
    let out = folder("live");
    let addr = format!("127.0.0.1:{port}");
    let args = [
        "loadgen",
        "run",
        "plan:4,7s",
        "--host",
        &target.url,
        "--path",
        "/",
        "--think",
        "20ms",
        "--prometheus",
        &addr,
        "--scrape",
        &metrics,
        "--scrape",
        &dead,
        "--scrape-metric",
        "queue_depth",
        "--threshold",
        "error-rate<50%",
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ];
    let cli = Cli::try_parse_from(args).unwrap();
    let run = std::thread::spawn(move || App::new().execute(&cli, &CancellationToken::new()));
    // Scrape as Prometheus would, every 250 ms, until the run has ended.
    let mut pages = Vec::new();
    while !run.is_finished() {
        if let Some(text) = get_metrics(port) {
            pages.push(text);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let code = run.join().unwrap().unwrap();
    assert_eq!(
        code, 0,
        "a target that never answers its scrape does not fail the run"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();

    let parsed: Vec<Exposition> = pages.iter().map(|t| prom_text::parse(t).unwrap()).collect();
    assert!(parsed.len() >= 10, "scraped {} times", parsed.len());
    let requests: Vec<f64> = parsed
        .iter()
        .map(|e| sum(e, "loadgen_requests_total"))
        .collect();
    assert!(
        requests.windows(2).all(|w| w[0] <= w[1]),
        "a counter never goes down: {requests:?}"
    );
    let live = parsed
        .iter()
        .find(|e| {
            e.get("loadgen_run_finished", &[]) == Some(0.0)
                && sum(e, "loadgen_requests_total") > 0.0
        })
        .expect("figures while the run went");
    assert!(live.get("loadgen_users", &[]).unwrap() > 0.0);
    assert_eq!(
        live.get("loadgen_threshold_passing", &[("rule", "error-rate<50%")]),
        Some(1.0)
    );
    let last = parsed.last().unwrap();
    assert_eq!(
        last.get("loadgen_run_finished", &[]),
        Some(1.0),
        "the final page was read before the exit"
    );
    let total = &summary["total"];
    assert_eq!(
        sum(last, "loadgen_requests_total"),
        total["requests"].as_f64().unwrap()
    );
    assert_eq!(
        sum(last, "loadgen_request_failures_total"),
        total["failures"].as_f64().unwrap()
    );
    assert!(
        total["failures"].as_u64().unwrap() > 0,
        "one request in ten failed"
    );
    assert_eq!(
        sum(last, "loadgen_request_duration_seconds_count"),
        total["requests"].as_f64().unwrap()
    );
    let p99 = last.get(
        "loadgen_latency_seconds",
        &[("window", "run"), ("quantile", "0.99")],
    );
    assert_eq!(p99, Some(total["p99_us"].as_f64().unwrap() / 1e6));
    match promtool_check(&pages[pages.len() / 2]) {
        Some(_) => {}
        None => eprintln!("skipped: promtool is not installed (apt-get install prometheus): the text was checked by our parser only"),
    }

    let server = &summary["server"];
    let targets = server["targets"].as_array().unwrap();
    assert_eq!(targets[0]["url"], metrics.as_str());
    assert!(
        targets[0]["scrapes"].as_u64().unwrap() >= 5,
        "{}",
        targets[0]
    );
    assert_eq!(targets[0]["failures"], 0);
    assert_eq!(targets[1]["scrapes"], 0);
    assert!(targets[1]["failures"].as_u64().unwrap() >= 5);
    let outage = &targets[1]["outages"][0];
    assert!(outage["from_second"].as_u64().unwrap() <= 1, "{outage}");
    assert!(
        outage["error"].as_str().unwrap().contains("refused"),
        "{outage}"
    );
    assert!(targets[1]["missing"]
        .as_array()
        .unwrap()
        .contains(&Value::from("queue_depth")));
    let series = server["series"].as_array().unwrap();
    let find = |metric: &str| {
        series
            .iter()
            .find(|s| s["metric"] == metric)
            .unwrap_or_else(|| panic!("no {metric} series: {server}"))
    };
    let in_flight = find("http_requests_in_flight");
    assert_eq!(in_flight["kind"], "gauge");
    let points = in_flight["points"].as_array().unwrap();
    assert!(
        points.len() >= 5 && points.iter().all(|p| p[1] == 7.0),
        "{in_flight}"
    );
    let seconds: Vec<u64> = points.iter().map(|p| p[0].as_u64().unwrap()).collect();
    assert!(
        seconds.windows(2).all(|w| w[0] < w[1]) && seconds[0] <= 1,
        "{seconds:?}"
    );
    let shed = find("http_requests_shed_total");
    assert_eq!(shed["kind"], "rate");
    for p in shed["points"].as_array().unwrap() {
        let rate = p[1].as_f64().unwrap();
        assert!((70.0..=130.0).contains(&rate), "about 100/s: {shed}");
    }
    assert_eq!(find("queue_depth")["labels"]["queue"], "a");
    assert!(series.iter().all(|s| s["metric"] != "not_asked_for"));

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"chart-server-http_requests_in_flight\""));
    assert!(html.contains("id=\"chart-server-http_requests_shed_total\""));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains(&dead), "the dead target is in summary.md");
}

#[test]
fn a_taken_exporter_port_is_a_usage_error_before_any_load() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let target = Server::start(Behaviour::default());
    let out = folder("taken");
    let cli = Cli::try_parse_from([
        "loadgen",
        "run",
        "plan:1,2s",
        "--host",
        &target.url,
        "--path",
        "/",
        "--prometheus",
        &addr,
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let err = App::new()
        .execute(&cli, &CancellationToken::new())
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains(&format!("--prometheus {addr}: cannot listen there")),
        "{err}"
    );
    assert_eq!(target.requests(), 0, "no load reached the target");
    assert!(!out.join("summary.json").exists());
}
