//! Manager/worker mode with real processes on loopback: counts add up, a killed
//! worker is rebalanced, workers stop without their manager, bad peers are refused.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};
use support::dist::*;
use support::*;

fn start_ms(stderr: &str) -> u128 {
    let at = stderr
        .split("unix_ms=")
        .nth(1)
        .expect("worker says when it started");
    at.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn manager_counts_exactly_what_three_workers_measured() {
    let served = Served::default();
    let host = serve_counting(
        known_latency_app_fast(served.clone()),
        served.accepted.clone(),
    );
    let (port, out) = (free_port(), out_dir("dist-three"));
    // The manager serves the whole run's figures to Prometheus.
    let exporter = free_port();
    let addr = format!("127.0.0.1:{exporter}");
    let m = manager(
        port,
        "plan:30,2s;30,6s",
        3,
        &host,
        &out,
        &["--prometheus", &addr],
    );
    let scrapes = scrape_until_final(exporter);
    let ws: Vec<Proc> = [1, 1, 2]
        .iter()
        .map(|&c| worker(port, "t0ken", c))
        .collect();
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let outs: Vec<_> = ws.into_iter().map(|w| w.wait_output()).collect();
    for w in &outs {
        assert_eq!(w.status.code(), Some(0), "{}", stderr(w));
    }
    let s = summary(&out);
    let workers = s["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 3);
    let sum: u64 = workers
        .iter()
        .map(|w| w["requests"].as_u64().unwrap())
        .sum();
    let total = s["total"]["requests"].as_u64().unwrap();
    assert_eq!(total, sum);
    assert_eq!(
        total,
        served.latencies_us.lock().unwrap().len() as u64,
        "the server saw every request counted"
    );
    assert!(total > 100);
    // Users split by capacity 1:1:2 of 30.
    let mut peaks: Vec<u64> = workers
        .iter()
        .map(|w| w["peak_users"].as_u64().unwrap())
        .collect();
    peaks.sort();
    assert_eq!(peaks, vec![7, 8, 15]);
    // The workers' users each held their own connection: 30 at the peak, and
    // every one the server accepted (but the manager's reachability check).
    assert_eq!(s["config"]["connections"], "per-user");
    assert_eq!(s["connections"]["peak_open"], 30, "{}", s["connections"]);
    assert_eq!(
        s["connections"]["opened"].as_u64().unwrap() + 1,
        served.accepted.load(std::sync::atomic::Ordering::SeqCst)
    );
    let starts: Vec<u128> = outs.iter().map(|w| start_ms(&stderr(w))).collect();
    let spread = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(spread < 100, "workers started {spread} ms apart");
    let last = scrapes.join().unwrap();
    assert!(last.contains("role=\"manager\""), "{last}");
    assert!(last.contains("\nloadgen_workers 3\n"), "{last}");
    let counted: f64 = last
        .lines()
        .filter(|l| l.starts_with("loadgen_requests_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        counted, total as f64,
        "the exporter's final count is the summary's"
    );
}

/// Scrapes `http://127.0.0.1:port/metrics` every 250 ms until it serves the
/// final figures (`loadgen_run_finished 1`), which it returns.
fn scrape_until_final(port: u16) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let page = std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .and_then(|mut s| {
                    use std::io::Read;
                    write!(
                        s,
                        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    )
                    .ok()?;
                    let mut text = String::new();
                    s.read_to_string(&mut text).ok()?;
                    Some(text)
                });
            if let Some(page) = page.filter(|p| p.contains("\nloadgen_run_finished 1\n")) {
                return page;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("the manager's exporter never served its final figures");
    })
}

#[test]
fn an_open_run_splits_its_rate_and_merges_both_histograms() {
    let served = Served::default();
    let host = serve(known_latency_app_fast(served.clone()));
    let (port, out) = (free_port(), out_dir("dist-open"));
    let m = manager(
        port,
        "rate:100,0s;100,4s",
        2,
        &host,
        &out,
        &["--max-users", "20"],
    );
    let ws: Vec<Proc> = [1, 3].iter().map(|&c| worker(port, "t0ken", c)).collect();
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for w in ws.into_iter().map(|w| w.wait_output()) {
        assert_eq!(w.status.code(), Some(0), "{}", stderr(&w));
    }
    let s = summary(&out);
    // 100 arrivals/s for 4 s, split 25:75 by capacity, every one run once.
    assert_eq!(s["shape"]["model"], "open");
    assert_eq!(s["generator"]["arrivals"], 400, "{}", s["generator"]);
    assert_eq!(s["generator"]["dropped"], 0);
    assert_eq!(s["total"]["requests"], 400);
    assert_eq!(served.latencies_us.lock().unwrap().len(), 400);
    let mut peaks: Vec<u64> = s["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["peak_users"].as_u64().unwrap())
        .collect();
    peaks.sort();
    assert_eq!(peaks, vec![25, 75], "the rate split by capacity");
    // Both histograms came back from the workers and merged.
    let (p99, service) = (
        s["total"]["p99_us"].as_u64().unwrap(),
        s["total"]["service_p99_us"].as_u64().unwrap(),
    );
    assert!(
        service > 0 && service <= p99,
        "service {service} us, from due {p99} us"
    );
}

#[test]
fn a_one_user_plan_on_two_workers_passes_the_idle_one_counted_healthy() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("dist-idle"));
    let m = manager(port, "plan:1,1s;1,4s", 2, &host, &out, &[]);
    let w1 = worker(port, "t0ken", 1);
    let w2 = worker(port, "t0ken", 1);
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (w1, w2) = (w1.wait_output(), w2.wait_output());
    assert_eq!((w1.status.code(), w2.status.code()), (Some(0), Some(0)));
    let idled = [&w1, &w2]
        .iter()
        .filter(|w| stderr(w).contains("its share has no users"))
        .count();
    assert_eq!(idled, 1, "{}\n{}", stderr(&w1), stderr(&w2));
    let s = summary(&out);
    let workers = s["workers"].as_array().unwrap();
    assert!(
        workers.iter().all(|w| w["state"] == "done"),
        "both healthy to the end: {workers:?}"
    );
    assert!(s["total"]["requests"].as_u64().unwrap() > 0);
    assert!(s["duration_secs"].as_f64().unwrap() >= 4.0);
    assert!(!stderr(&o).contains("too late"), "{}", stderr(&o));
}

#[test]
fn a_killed_worker_is_marked_lost_and_its_users_move() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("dist-kill"));
    let m = manager(port, "plan:20,1s;20,11s", 2, &host, &out, &[]);
    let w1 = worker(port, "t0ken", 1);
    let mut w2 = worker(port, "t0ken", 1);
    std::thread::sleep(Duration::from_secs(5));
    w2.kill(); // SIGKILL
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("lost"), "{}", stderr(&o));
    let w1 = w1.wait_output();
    assert!(stderr(&w1).contains("rebalanced"), "{}", stderr(&w1));
    let s = summary(&out);
    let workers = s["workers"].as_array().unwrap();
    let lost: Vec<_> = workers.iter().filter(|w| w["state"] == "lost").collect();
    assert_eq!(lost.len(), 1, "{workers:?}");
    assert_eq!(lost[0]["users_moved"].as_u64(), Some(10));
    assert!(lost[0]["lost_at_secs"].as_f64().unwrap() > 3.0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("id=\"workers\"") && html.contains("users moved"),
        "the page names the lost worker"
    );
    assert!(out.join("latency.hlog").exists());
    let survivor = workers
        .iter()
        .find(|w| w["state"] == "done")
        .expect("the other worker finished");
    assert_eq!(
        survivor["peak_users"].as_u64(),
        Some(20),
        "it took over every user"
    );
    // The run went on to its end, with load after the loss.
    assert!(s["duration_secs"].as_f64().unwrap() > 10.0);
    let late: u64 = s["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["second"].as_u64().unwrap() >= 8)
        .map(|p| p["requests"].as_u64().unwrap())
        .sum();
    assert!(late > 0);
}

#[test]
fn workers_stop_soon_after_their_manager_dies() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("dist-manager-dies"));
    let mut m = manager(port, "plan:10,1s;10,60s", 2, &host, &out, &[]);
    let (w1, w2) = (worker(port, "t0ken", 1), worker(port, "t0ken", 1));
    std::thread::sleep(Duration::from_secs(4));
    m.kill();
    let killed = Instant::now();
    for w in [w1, w2] {
        let o = w.wait_output();
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "a worker ran on unattended"
        );
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        assert!(stderr(&o).contains("lost the manager"), "{}", stderr(&o));
    }
}

#[test]
fn wrong_token_and_garbage_are_refused_and_the_run_goes_on() {
    let host = serve(known_latency_app_fast(Served::default()));
    let (port, out) = (free_port(), out_dir("dist-refuse"));
    let m = manager(port, "plan:5,1s;5,4s", 1, &host, &out, &[]);
    std::thread::sleep(Duration::from_millis(400));
    // Random bytes, an oversized frame, and a wrong token.
    for bytes in [
        vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3],
        vec![0xff; 8],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = s.write_all(&bytes);
    }
    let bad = worker(port, "wrong", 1).wait_output();
    assert_ne!(bad.status.code(), Some(0));
    assert!(stderr(&bad).contains("wrong token"), "{}", stderr(&bad));
    let good = worker(port, "t0ken", 1);
    let o = m.wait_output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(good.wait_output().status.code(), Some(0));
    let s = summary(&out);
    assert_eq!(s["workers"].as_array().unwrap().len(), 1);
    assert!(s["total"]["requests"].as_u64().unwrap() > 0);
}

#[test]
fn workers_that_never_join_are_exit_3() {
    let (port, out) = (free_port(), out_dir("dist-nobody"));
    let host = serve(known_latency_app_fast(Served::default()));
    let o = manager(port, "stages", 2, &host, &out, &["--join-timeout", "2s"]).wait_output();
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("only 0 of 2 workers joined"),
        "{}",
        stderr(&o)
    );
}
