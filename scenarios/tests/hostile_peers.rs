//! A manager against peers that mean harm, through the real binary on
//! loopback: a lying snapshot, running out of file descriptors, oversized
//! first frames, floods of silent connections, and names that forge log lines.
//! Each time the run goes on, and a real worker still joins.

#[path = "../../loadgen/tests/support/hostile.rs"]
mod hostile;
mod support;

use hostile::b64;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::dist::*;
use support::peer::Peer;
use support::*;

/// Whether the manager closes `stream` within `within` (EOF or reset), sending nothing.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// The one worker a run's summary marks lost.
fn the_one_lost(s: &serde_json::Value) -> &serde_json::Value {
    let lost: Vec<_> = s["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["state"] == "lost")
        .collect();
    assert_eq!(lost.len(), 1, "{}", s["workers"]);
    lost[0]
}

#[test]
fn a_snapshot_declaring_4_gib_loses_its_worker_not_the_manager() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("hostile-snapshot"));
    // Under an address-space cap, so believing the header would abort.
    let cmd = manager_cmd(port, "plan:4,1s;4,5s", 2, &host, &out, &["--headless"]);
    let m = Proc::spawn(limited(&cmd, "-v 2000000"));
    let mut liar = Peer::joined(port, "t0ken", "liar");
    let honest = worker(port, "t0ken", 1);
    liar.until("assign");
    let (_, lie) = &hostile::lying_histograms()[0];
    let snapshot = json!({"type": "snapshot", "snapshot": {"second": 0, "users": 2,
        "endpoints": [[{"method": "GET", "name": "/"},
            {"hdr": b64(lie), "requests": 1, "failures": 0, "bytes": 0, "clamped": 0, "errors": []}]]}});
    liar.send(&snapshot).unwrap();
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(honest.wait_output().status.code(), Some(0));
    let s = summary(&out);
    let lost = the_one_lost(&s);
    assert_eq!(lost["name"], "liar");
    assert!(
        lost["lost_reason"].as_str().unwrap().contains("HDR"),
        "{}",
        lost
    );
    assert!(s["total"]["requests"].as_u64().unwrap() > 0);
}

#[test]
fn a_snapshot_of_8000_endpoints_loses_its_worker_not_the_manager() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("hostile-rows"));
    // Each row decodes to a ~160 KB histogram: 8,000 of them took a manager
    // to 2.6 GB and it aborted under this cap. Now decoding stops at 1,025.
    let cmd = manager_cmd(port, "plan:4,1s;4,5s", 2, &host, &out, &["--headless"]);
    let m = Proc::spawn(limited(&cmd, "-v 2000000"));
    let mut liar = Peer::joined(port, "t0ken", "rows");
    let honest = worker(port, "t0ken", 1);
    liar.until("assign");
    let empty = loadgen::metrics::hdr::to_base64(&loadgen::metrics::hdr::new_histogram());
    let rows: Vec<_> = (0..8_000)
        .map(|i| {
            json!([{"method": "GET", "name": format!("/{i}")},
                {"hdr": empty, "requests": 0, "failures": 0, "bytes": 0, "clamped": 0, "errors": []}])
        })
        .collect();
    let snapshot =
        json!({"type": "snapshot", "snapshot": {"second": 0, "users": 2, "endpoints": rows}});
    liar.send(&snapshot).unwrap();
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(honest.wait_output().status.code(), Some(0));
    let s = summary(&out);
    let lost = the_one_lost(&s);
    assert!(
        lost["lost_reason"]
            .as_str()
            .unwrap()
            .contains("more than 1024 endpoint rows"),
        "{}",
        lost
    );
    assert!(s["total"]["requests"].as_u64().unwrap() > 0);
}

#[test]
fn a_manager_out_of_file_descriptors_keeps_accepting() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("hostile-fds"));
    let cmd = manager_cmd(
        port,
        "plan:2,1s;2,2s",
        1,
        &host,
        &out,
        &["--headless", "--join-timeout", "20s"],
    );
    let m = Proc::spawn(limited(&cmd, "-n 40"));
    // Far more connections than it has descriptors: accept() fails (EMFILE).
    let mut flood: Vec<TcpStream> = Vec::new();
    flood.push(Peer::connect(port).stream);
    for _ in 0..80 {
        flood.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(flood);
    let honest = worker(port, "t0ken", 1);
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(honest.wait_output().status.code(), Some(0));
    assert!(
        stderr(&o).contains("cannot accept"),
        "the errors were told: {}",
        stderr(&o)
    );
}

#[test]
fn join_frames_are_small_and_silent_connections_cannot_lock_a_worker_out() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("hostile-pending"));
    let m = manager(port, "plan:2,1s;2,2s", 1, &host, &out, &["--headless"]);
    // 64 connections that say nothing fill the waiting line...
    let mut silent: Vec<TcpStream> = vec![Peer::connect(port).stream];
    for _ in 1..64 {
        silent.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    std::thread::sleep(Duration::from_millis(500));
    // ...and a worker still joins while they hold on: the oldest makes room
    // (it once found the door shut and exited 3).
    let honest = worker(port, "t0ken", 1);
    assert!(
        closed_within(&mut silent[0], Duration::from_secs(2)),
        "the oldest silent connection kept its place"
    );
    // A first frame declaring a megabyte is refused from its length alone.
    let mut big = TcpStream::connect(("127.0.0.1", port)).unwrap();
    big.write_all(&(1u32 << 20).to_be_bytes()).unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut big, Duration::from_secs(2)),
        "1 MiB join awaited"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(honest.wait_output().status.code(), Some(0));
    assert!(
        stderr(&o).contains("too many connections"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unauthenticated_frames_cannot_grow_the_manager() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("hostile-memory"));
    let m = manager(
        port,
        "plan:2,1s;2,1s",
        1,
        &host,
        &out,
        &["--headless", "--join-timeout", "30s"],
    );
    // Each declares a 16 MiB frame and sends all of it but the last KiB.
    let declared = (16u32 << 20) - 1;
    let body = vec![b'x'; declared as usize - 1024];
    let mut held = vec![Peer::connect(port).stream];
    for _ in 0..40 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(&declared.to_be_bytes());
        let _ = s.write_all(&body);
        held.push(s);
    }
    // What the kernel still buffers reaches the manager (joins wait 5 s).
    std::thread::sleep(Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{}/status", m.pid())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    drop(held);
    drop(m);
    assert!(peak_kb < 150_000, "the manager peaked at {peak_kb} kB");
}

#[test]
fn a_refused_name_cannot_write_the_managers_log() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("hostile-names"));
    let m = manager(port, "plan:2,1s;2,1s", 1, &host, &out, &["--headless"]);
    let forged = format!(
        "x\u{1b}[2J\r\nmanager: worker 7 (ghost, 10.0.0.1:1, capacity 1) joined: 1/1\n{}",
        "y".repeat(1_000)
    );
    let mut peer = Peer::connect(port);
    peer.send(&support::peer::join("wrong", "?", &forged))
        .unwrap();
    assert_eq!(peer.recv().expect("refused")["type"], "refused");
    let honest = worker(port, "t0ken", 1);
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    drop(honest);
    let err = stderr(&o);
    assert!(!err.contains('\u{1b}'), "an escape code reached the log");
    assert!(
        !err.lines()
            .any(|l| l.starts_with("manager: worker 7 (ghost")),
        "a forged line: {err}"
    );
    let refused = err
        .lines()
        .find(|l| l.contains("refused"))
        .expect("the refusal is logged");
    assert!(refused.contains("\\u{1b}"), "escaped: {refused}");
    assert!(refused.chars().count() < 300, "capped: {refused}");
}
