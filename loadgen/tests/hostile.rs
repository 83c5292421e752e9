//! Hostile bytes against every decoder of untrusted input: the protocol's frame
//! reader (over real sockets), the HDR decoder and summary.json reading, fed
//! thousands of seeded random, truncated and mutated inputs plus known lies,
//! in a child process whose address space is capped: no panic, no abort, no
//! allocation past the cap.

#[path = "support/hostile.rs"]
mod hostile;

use hostile::{b64, lying_histograms, mutate, noise};
use loadgen::distributed::connection::split;
use loadgen::distributed::protocol::{Join, Message, PROTOCOL_VERSION};
use loadgen::metrics::{hdr, EndpointKey, EndpointStats, IntervalSnapshot};
use loadgen::report::summary::Summary;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const CHILD: &str = "LOADGEN_HOSTILE_CHILD";
/// The child's address space: the test binary needs well under this, and a
/// decoder that believes a declared length of gigabytes cannot have it.
const CAP_BYTES: u64 = 768 << 20;
const TEST: &str = "decoders_survive_hostile_bytes_under_a_memory_cap";

#[test]
fn decoders_survive_hostile_bytes_under_a_memory_cap() {
    if std::env::var_os(CHILD).is_some() {
        let cap = rustix::process::Rlimit {
            current: Some(CAP_BYTES),
            maximum: Some(CAP_BYTES),
        };
        rustix::process::setrlimit(rustix::process::Resource::As, cap).expect("cap memory");
        let fed = hdr_cases() + frame_cases() + summary_cases();
        println!("hostile: {fed} inputs decoded without a panic");
        return;
    }
    let o = Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        o.status.success(),
        "the child died: {:?}\n{out}\n{err}",
        o.status
    );
    assert!(out.contains("without a panic"), "{out}\n{err}");
}

/// Runs `f` on `what`, failing the test on a panic (with what it was fed).
fn survive<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(t) => t,
        Err(_) => panic!("the decoder panicked on {what}"),
    }
}

fn sample_histograms() -> Vec<Vec<u8>> {
    let mut out = vec![hdr::to_v2_bytes(&hdr::new_histogram())];
    let mut rng = StdRng::seed_from_u64(1);
    for n in [1, 10, 1_000] {
        let mut h = hdr::new_histogram();
        for _ in 0..n {
            h.record(rng.random_range(1..hdr::MAX_US)).unwrap();
        }
        out.push(hdr::to_v2_bytes(&h));
    }
    out
}

/// latency.hlog with one interval holding `hist`.
fn hlog(hist: &[u8]) -> String {
    format!(
        "#[StartTime: 0.000 (seconds since epoch)]\n0.000,1.000,0.000,{}\n",
        b64(hist)
    )
}

fn hdr_cases() -> usize {
    let mut fed = 0;
    let honest = hlog(&sample_histograms()[1]);
    let standard = base64::engine::general_purpose::STANDARD;
    let sample = &sample_histograms()[2];
    assert_eq!(b64(sample), base64::Engine::encode(&standard, sample));
    assert_eq!(
        loadgen::report::hlog::parse(honest.as_bytes())
            .unwrap()
            .len(),
        1
    );
    for (what, bytes) in lying_histograms() {
        let started = Instant::now();
        let read = survive(what, || hdr::from_v2_bytes(&bytes));
        assert!(read.is_err(), "{what}: accepted");
        assert!(started.elapsed() < Duration::from_secs(1), "{what}: slow");
        // The same in latency.hlog, which `report` reads back.
        let log = hlog(&bytes);
        let read = survive(what, || {
            loadgen::report::hlog::parse(log.as_bytes()).map(|_| ())
        });
        assert!(read.is_err(), "{what}: accepted in an hlog");
        fed += 2;
    }
    let mut rng = StdRng::seed_from_u64(2);
    for valid in sample_histograms() {
        for cut in 0..valid.len() {
            let _ = survive("a truncated histogram", || {
                hdr::from_v2_bytes(&valid[..cut])
            });
        }
        for _ in 0..1_000 {
            let bytes = mutate(&mut rng, &valid);
            let _ = survive("a mutated histogram", || hdr::from_v2_bytes(&bytes));
        }
        fed += valid.len() + 1_000;
    }
    for _ in 0..1_000 {
        let len = rng.random_range(0..200);
        let mut bytes = noise(&mut rng, len);
        if rng.random_bool(0.5) && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(&hostile::V2.to_be_bytes());
        }
        let _ = survive("random bytes", || hdr::from_v2_bytes(&bytes));
    }
    fed + 1_000
}

/// A snapshot frame's JSON whose histogram is `hdr_base64`.
fn snapshot_frame(hdr_base64: &str) -> Vec<u8> {
    let mut stats = EndpointStats::default();
    stats.record(1_500, 10, None);
    let mut snapshot = IntervalSnapshot::default();
    let key = EndpointKey {
        method: "GET".into(),
        name: "/".into(),
    };
    snapshot.endpoints.insert(key, stats);
    let message = Message::Snapshot {
        snapshot: Box::new(snapshot),
    };
    let mut json = serde_json::to_value(&message).unwrap();
    json["snapshot"]["endpoints"][0][1]["hdr"] = Value::from(hdr_base64);
    json.to_string().into_bytes()
}

fn framed(body: &[u8]) -> Vec<u8> {
    [&(body.len() as u32).to_be_bytes()[..], body].concat()
}

fn frame_cases() -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Reads every frame of `bytes` sent over a real connection.
        let feed = |bytes: Vec<u8>| {
            let listener = &listener;
            async move {
                let mut client = TcpStream::connect(addr).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                let _ = client.write_all(&bytes).await;
                let _ = client.shutdown().await;
                let (mut reader, _writer) = split(server);
                let mut frames = 0;
                while let Ok(Some(_)) = reader.read().await {
                    frames += 1;
                }
                frames
            }
        };
        let mut valid: Vec<Vec<u8>> = vec![
            framed(&serde_json::to_vec(&Message::Heartbeat).unwrap()),
            framed(
                &serde_json::to_vec(&Message::Join(Join {
                    protocol: PROTOCOL_VERSION,
                    token: "t".into(),
                    scenarios: "f".into(),
                    capacity: 1,
                    name: "w".into(),
                }))
                .unwrap(),
            ),
        ];
        for h in sample_histograms() {
            valid.push(framed(&snapshot_frame(&b64(&h))));
        }
        let mut fed = 0;
        for (what, bytes) in lying_histograms() {
            let frame = framed(&snapshot_frame(&b64(&bytes)));
            let started = Instant::now();
            assert_eq!(feed(frame).await, 0, "a snapshot with {what} was accepted");
            assert!(started.elapsed() < Duration::from_secs(1), "{what}: slow");
            fed += 1;
        }
        let mut rng = StdRng::seed_from_u64(3);
        for v in &valid {
            for _ in 0..150 {
                feed(mutate(&mut rng, v)).await;
                let cut = rng.random_range(0..v.len());
                feed(v[..cut].to_vec()).await;
            }
            fed += 300;
        }
        for _ in 0..300 {
            let len = rng.random_range(0..64);
            feed(noise(&mut rng, len)).await;
        }
        fed + 300
    })
}

fn baseline() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baselines/stages-50u-30s.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn read_summary(dir: &Path, i: usize, text: &[u8]) -> Result<(), String> {
    let path: PathBuf = dir.join(format!("s{}.json", i % 8));
    std::fs::write(&path, text).unwrap();
    let summary = Summary::read(&path).map_err(|e| e.to_string())?;
    summary.stats().map(|_| ())
}

fn summary_cases() -> usize {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = baseline();
    let mut fed = 0;
    for (i, (what, bytes)) in lying_histograms().into_iter().enumerate() {
        let mut s = base.clone();
        s["endpoints"][0]["hdr"] = Value::from(b64(&bytes));
        let text = serde_json::to_vec(&s).unwrap();
        let started = Instant::now();
        let read = survive(what, || read_summary(&dir, i, &text));
        assert!(read.is_err(), "a summary with {what} was accepted");
        assert!(started.elapsed() < Duration::from_secs(1), "{what}: slow");
        fed += 1;
    }
    let mut rng = StdRng::seed_from_u64(4);
    let text = serde_json::to_vec(&base).unwrap();
    let hdrs: Vec<Vec<u8>> = sample_histograms();
    for i in 0..300 {
        let mut s = base.clone();
        // A histogram mutated in place keeps the rest of the file valid.
        let h = mutate(&mut rng, &hdrs[i % hdrs.len()]);
        let row = rng.random_range(0..s["endpoints"].as_array().unwrap().len());
        s["endpoints"][row]["hdr"] = Value::from(b64(&h));
        let mutated = serde_json::to_vec(&s).unwrap();
        let _ = survive("a summary with a mutated histogram", || {
            read_summary(&dir, i, &mutated)
        });
        let cut = rng.random_range(0..text.len());
        let _ = survive("a truncated summary", || {
            read_summary(&dir, i, &text[..cut])
        });
        let bytes = mutate(&mut rng, &text);
        let _ = survive("a mutated summary", || read_summary(&dir, i, &bytes));
        fed += 3;
    }
    let _ = std::fs::remove_dir_all(&dir);
    fed
}
