//! Benchmark of the manager's merge: N simulated workers each send one snapshot
//! per second with E endpoints; measures the CPU to decode (JSON + HDR V2) and
//! merge them, per second of run, and the process's peak memory.
//! Usage: merge-bench [WORKERS=100] [ENDPOINTS=20] [SECONDS=30]

use loadgen::metrics::{Aggregator, EndpointKey, EndpointStats, IntervalSnapshot};
use rand::{Rng, SeedableRng};
use std::time::Instant;

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// One worker's second: each endpoint with ~100 requests of varied latency.
fn snapshot(rng: &mut rand::rngs::StdRng, second: u64, endpoints: u64) -> IntervalSnapshot {
    let mut snap = IntervalSnapshot {
        second,
        users: 100,
        ..Default::default()
    };
    for e in 0..endpoints {
        let mut stats = EndpointStats::default();
        for _ in 0..100 {
            let latency = (rng.random::<f64>().powi(3) * 2_000_000.0) as u64 + 200;
            stats.record(latency, 512, None);
        }
        snap.endpoints.insert(
            EndpointKey {
                method: "GET".into(),
                name: format!("/endpoint/{e}"),
            },
            stats,
        );
    }
    snap
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let (workers, endpoints, seconds) = (arg(1, 100), arg(2, 20), arg(3, 30));
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    // What arrives on the wire: each worker's frame body, prepared up front.
    let frames: Vec<Vec<u8>> = (0..workers)
        .map(|_| serde_json::to_vec(&snapshot(&mut rng, 0, endpoints)).expect("encodes"))
        .collect();
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut agg = Aggregator::new(10);
    let mut busy = std::time::Duration::ZERO;
    for second in 0..seconds {
        let t = Instant::now();
        for frame in &frames {
            let mut snap: IntervalSnapshot = serde_json::from_slice(frame).expect("decodes");
            snap.second = second;
            agg.ingest(&snap);
        }
        agg.finalize_through(second);
        busy += t.elapsed();
    }
    let per_sec = busy.as_secs_f64() / seconds as f64;
    println!(
        "workers={workers} endpoints={endpoints} seconds={seconds}: {:.1} ms of merging per second of run = {:.1}% of one core; {:.1} KB received per second; peak RSS {:.1} MB; {} requests merged",
        per_sec * 1_000.0,
        per_sec * 100.0,
        bytes as f64 / 1024.0,
        peak_rss_kb() as f64 / 1024.0,
        agg.total.requests
    );
}
