//! All cores from one command, and past one source address: `--processes`
//! runs the test as local worker processes (same totals as one process, all of
//! them stopped on Ctrl-C), `--local-ips` spreads users' connections over
//! source addresses (the server sees them), and a manager with
//! `--min-workers` takes a worker that joins late into the split.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::dist::{free_port, manager_cmd, worker, Proc};
use support::*;

/// A keep-alive server that counts requests and each connection's source address.
struct Counting {
    url: String,
    requests: Arc<AtomicU64>,
    sources: Arc<Mutex<BTreeMap<String, u64>>>,
}

fn counting() -> Counting {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (requests, sources) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(Mutex::new(BTreeMap::new())),
    );
    let (r, s) = (requests.clone(), sources.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let peer = stream
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            *s.lock().unwrap().entry(peer).or_default() += 1;
            let r = r.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        r.fetch_add(1, Ordering::SeqCst);
                        if stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    Counting {
        url,
        requests,
        sources,
    }
}

#[test]
fn processes_give_the_totals_of_one_process_and_stop_together() {
    let server = counting();
    let out = out_dir("processes");
    let o = output(run_against("plan:12,1s;12,3s", &server.url, &out).args([
        "--processes",
        "3",
        "--think",
        "50ms",
        "--headless",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&out);
    let total = s["total"]["requests"].as_u64().unwrap();
    assert!(total > 100, "{total}");
    assert_eq!(
        total,
        server.requests.load(Ordering::SeqCst),
        "every request counted once"
    );
    assert_eq!(s["workers"].as_array().unwrap().len(), 3);
    assert_eq!(s["connections"]["peak_open"], 12, "{}", s["connections"]);
    for k in 1..=3 {
        assert!(out.join(format!("workers/process-{k}.log")).exists());
    }

    // Ctrl-C on the run stops every worker process with it.
    let out = out_dir("processes-interrupted");
    let child = run_against("plan:4,1s;4,60s", &server.url, &out)
        .args(["--processes", "2", "--think", "50ms", "--headless"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let kids = children_of(child.id());
    assert_eq!(kids.len(), 2, "two worker processes: {kids:?}");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(summary(&out)["interrupted"], true);
    for pid in kids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} still runs"
        );
    }
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn local_ips_spread_users_connections_over_source_addresses() {
    let server = counting();
    let out = out_dir("local-ips");
    let o = output(run_against("plan:6,0s;6,2s", &server.url, &out).args([
        "--local-ips",
        "127.0.0.2-127.0.0.4",
        "--think",
        "100ms",
        "--headless",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sources = server.sources.lock().unwrap().clone();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        // Two users each (and the start's check from the first address).
        assert!(sources.get(ip).copied().unwrap_or(0) >= 2, "{sources:?}");
    }
    let bad = run(&[
        "run",
        "plan:1,1s",
        "--local-ips",
        "192.0.2.50",
        "--host",
        &server.url,
        "--path",
        "/",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("cannot send from 192.0.2.50"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_worker_that_joins_late_takes_a_share_and_the_totals_hold() {
    let server = counting();
    let (port, out) = (free_port(), out_dir("late-joiner"));
    let cmd = manager_cmd(port, "plan:8,1s;8,7s", 1, &server.url, &out, &[]);
    // --min-workers instead of --expect-workers.
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| {
            a.to_string_lossy()
                .replace("--expect-workers", "--min-workers")
        })
        .collect();
    let mut late = loadgen();
    late.args(&args).env("LOADGEN_TOKEN", "t0ken");
    let m = Proc::spawn(late);
    let first = worker(port, "t0ken", 1);
    std::thread::sleep(Duration::from_secs(4));
    let second = worker(port, "t0ken", 1);
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (a, b) = (first.wait_output(), second.wait_output());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    let s = summary(&out);
    let workers = s["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2, "{}", s["workers"]);
    assert!(
        workers.iter().all(|w| w["requests"].as_u64().unwrap() > 0),
        "{}",
        s["workers"]
    );
    assert_eq!(
        s["total"]["requests"].as_u64().unwrap(),
        server.requests.load(Ordering::SeqCst)
    );
    assert!(stderr(&o).contains("joined at"), "{}", stderr(&o));
}
