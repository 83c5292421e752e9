//! Metrics out and in against the real things: a private Prometheus (Debian's
//! package, on a free loopback port, its own data folder) scrapes a short
//! run's `--prometheus` exporter and the bundled library service's `/metrics`,
//! while the run `--scrape`s the same service. Prometheus's HTTP API must then
//! hold the run's request total exactly as summary.json has it, and the
//! service's own count of those requests; summary.json must hold the
//! service's in-flight, pool and CPU series. Skipped where Prometheus is not
//! installed (`apt-get install prometheus`; `scripts/test` does it as root).

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::dist::{free_port, Proc};

/// GET `path` on 127.0.0.1:`port`: the status and body (`None`: no answer).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn wait_for(what: &str, secs: u64, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} not ready within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A PromQL instant query's single value.
fn query(port: u16, promql: &str) -> f64 {
    let encoded: String = promql
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) =
        get(port, &format!("/api/v1/query?query={encoded}")).expect("Prometheus answers");
    assert_eq!(status, 200, "{promql}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let result = &v["data"]["result"];
    assert_eq!(result.as_array().map(Vec::len), Some(1), "{promql}: {body}");
    result[0]["value"][1].as_str().unwrap().parse().unwrap()
}

/// The bundled library service as its own process, as `loadgen run` starts
/// it (embedded SQLite): its port.
fn library_service() -> (Proc, u16) {
    let mut child = support::loadgen()
        .env("LOADGEN_SERVE_BUNDLED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    wait_for("the library service", 60, || {
        get(port, "/health/ready").is_some_and(|r| r.0 == 200)
    });
    (Proc(Some(child)), port)
}

fn prometheus(dir: &Path, port: u16, exporter: u16, service: u16) -> Proc {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  \
             - job_name: loadgen\n    static_configs: [{{targets: ['127.0.0.1:{exporter}']}}]\n  \
             - job_name: library-api\n    static_configs: [{{targets: ['127.0.0.1:{service}']}}]\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let proc = Proc(Some(cmd.spawn().unwrap()));
    wait_for("Prometheus", 60, || {
        get(port, "/-/ready").is_some_and(|r| r.0 == 200)
    });
    proc
}

#[test]
fn prometheus_scrapes_the_run_and_the_service_and_agrees_with_the_summary() {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: prometheus is not installed (apt-get install prometheus)");
        return;
    }
    let dir = support::out_dir("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let (_service, service) = library_service();
    let (exporter, prom_port) = (free_port(), free_port());
    let _prometheus = prometheus(&dir, prom_port, exporter, service);
    let host = format!("http://127.0.0.1:{service}");
    let out = dir.join("run");
    let run = support::run(&[
        "run",
        "plan:20,10s",
        "--host",
        &host,
        "--think",
        "200ms",
        "--prometheus",
        &format!("127.0.0.1:{exporter}"),
        "--scrape",
        &format!("{host}/metrics"),
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ]);
    let said = support::stderr(&run);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(
        said.contains("waiting up to"),
        "the run waited for a last scrape: {said}"
    );
    let summary = support::summary(&out);
    let total = summary["total"]["requests"].as_f64().unwrap();
    assert!(total > 100.0, "{total} requests");

    // Range selections skip the staleness markers written once the run's exporter is gone.
    assert_eq!(
        query(prom_port, "max(max_over_time(loadgen_run_finished[5m]))"),
        1.0
    );
    assert_eq!(
        query(prom_port, "sum(last_over_time(loadgen_requests_total[5m]))"),
        total
    );
    assert_eq!(
        query(
            prom_port,
            "sum(last_over_time(loadgen_request_failures_total[5m])) or vector(0)"
        ),
        summary["total"]["failures"].as_f64().unwrap()
    );
    // The service counted what loadgen sent (and at most one unfinished request per user more).
    std::thread::sleep(Duration::from_secs(2));
    let served = query(
        prom_port,
        "sum(last_over_time(http_requests_total{route!~\"/metrics|/health.*\"}[5m]))",
    );
    assert!(
        (total..=total + 20.0).contains(&served),
        "service {served}, loadgen {total}"
    );

    let series = summary["server"]["series"].as_array().unwrap();
    let points = |metric: &str| -> Vec<f64> {
        series
            .iter()
            .filter(|s| s["metric"] == metric)
            .flat_map(|s| {
                s["points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p[1].as_f64().unwrap())
            })
            .collect()
    };
    assert!(
        points("http_requests_in_flight").len() >= 8,
        "{}",
        summary["server"]
    );
    assert!(
        !points("db_pool_connections").is_empty(),
        "{}",
        summary["server"]
    );
    assert!(points("process_cpu_seconds_total")
        .iter()
        .any(|&cpu| cpu > 0.0));
    assert!(points("process_resident_memory_bytes")
        .iter()
        .all(|&m| m > 1e6));
    assert_eq!(summary["server"]["targets"][0]["failures"], 0);
}
