//! Where requests are measured: sharded per-thread HDR stats, drained every second.

use super::bounded::MAX_SNAPSHOT_ENDPOINTS;
use super::connections::ConnectionMeter;
use super::generator::GeneratorMeter;
use super::snapshot::{EndpointKey, EndpointStats, FailureKind, IntervalSnapshot};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

/// The most distinct request names a run gives rows of their own (each row
/// keeps HDR histograms, about a megabyte over a run). Requests named after
/// these are counted together in the row [`OTHER_NAMES`].
pub const MAX_NAMES: usize = 500;
/// The row of every request whose name came after the first [`MAX_NAMES`].
pub const OTHER_NAMES: &str = "(other names: give dynamic paths a .name())";

/// One measured request.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    pub method: &'static str,
    pub name: &'a str,
    pub latency_us: u64,
    /// From the send, when `latency_us` is timed from an arrival's due time.
    pub service_us: Option<u64>,
    pub bytes: u64,
    pub failure: Option<(FailureKind, &'a str)>,
    /// From the send to the first byte of the answer, when one came (per-user model).
    pub ttfb_us: Option<u64>,
    /// The answer's HTTP status (0: no answer).
    pub status: u16,
    /// The scenario (persona) whose user made it.
    pub scenario: Option<&'a str>,
}

/// Per-endpoint stats keyed by name, then method, so a lookup allocates
/// nothing; and the shard's time-to-first-byte histogram.
#[derive(Default)]
struct Shard {
    endpoints: HashMap<String, Vec<(&'static str, EndpointStats)>>,
    ttfb_us: Option<hdrhistogram::Histogram<u64>>,
    scenarios: HashMap<String, EndpointStats>,
    counters: HashMap<String, u64>,
}

/// Records every request into HDR stats. Each thread writes its own shard, so
/// recording never waits on the aggregator or on other threads for long.
#[derive(Default)]
pub struct Recorder {
    shards: [Mutex<Shard>; SHARDS],
    users: AtomicU64,
    /// The users' own connections (per-user connection model only).
    pub connections: Arc<ConnectionMeter>,
    /// How well the generator keeps its schedule.
    pub generator: Arc<GeneratorMeter>,
    /// The request names given rows so far.
    names: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    known: std::collections::HashSet<String>,
    warned: bool,
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static SHARD: Cell<usize> = Cell::new(NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS);
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    pub fn record(&self, sample: Sample<'_>) {
        let index = SHARD.with(|s| s.get());
        let mut shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        if let Some(us) = sample.ttfb_us {
            let hist = shard.ttfb_us.get_or_insert_with(super::hdr::new_histogram);
            super::hdr::record_clamped(hist, us);
        }
        let methods = match shard.endpoints.get_mut(sample.name) {
            Some(methods) => methods,
            None => shard.endpoints.entry(self.admit(&sample)).or_default(),
        };
        let stats = match methods.iter().position(|(m, _)| *m == sample.method) {
            Some(i) => &mut methods[i].1,
            None => {
                methods.push((sample.method, EndpointStats::default()));
                &mut methods.last_mut().expect("just pushed").1
            }
        };
        stats.record(sample.latency_us, sample.bytes, sample.failure);
        if let Some(us) = sample.service_us {
            stats.record_service(us);
        }
        if sample.status != 0 {
            stats.record_status(sample.status);
        }
        if let Some(scenario) = sample.scenario {
            let stats = match shard.scenarios.get_mut(scenario) {
                Some(stats) => stats,
                None => shard.scenarios.entry(scenario.to_string()).or_default(),
            };
            stats.record(sample.latency_us, sample.bytes, sample.failure);
            if let Some(us) = sample.service_us {
                stats.record_service(us);
            }
        }
    }

    /// Adds `n` to a task's own counter (`vu.count`). At most `MAX_NAMES`
    /// counters; the rest are added to `OTHER_NAMES`.
    pub fn count(&self, name: &str, n: u64) {
        let index = SHARD.with(|s| s.get());
        let mut shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = shard.counters.get_mut(name) {
            *c += n;
            return;
        }
        let key = if shard.counters.len() < MAX_NAMES {
            name
        } else {
            OTHER_NAMES
        };
        *shard.counters.entry(key.to_string()).or_default() += n;
    }

    /// The row a name new to this shard goes in: its own, while fewer than
    /// `MAX_NAMES` names have rows; else the one for other names (saying so,
    /// once, loudly: it is nearly always an id left in a request's name).
    fn admit(&self, sample: &Sample<'_>) -> String {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.known.contains(sample.name) {
            return sample.name.to_string();
        }
        if names.known.len() < MAX_NAMES {
            names.known.insert(sample.name.to_string());
            return sample.name.to_string();
        }
        if !std::mem::replace(&mut names.warned, true) {
            eprintln!(
                "loadgen: warning: more than {MAX_NAMES} distinct request names (the latest: {} {}): \
                 the rest are counted together as '{OTHER_NAMES}'. A path with an id in it needs \
                 .name(\"/orders/{{id}}\") so its requests share one row.",
                sample.method, sample.name
            );
        }
        OTHER_NAMES.to_string()
    }

    pub fn user_started(&self) {
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    pub fn user_stopped(&self) {
        // Never wraps below zero, even if a stop is seen without its start.
        let _ = self
            .users
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| u.checked_sub(1));
    }

    pub fn active_users(&self) -> u64 {
        self.users.load(Ordering::Relaxed)
    }

    /// Takes everything recorded since the last drain as the snapshot of `second`.
    /// Every sample lands in exactly one drain.
    pub fn drain(&self, second: u64) -> IntervalSnapshot {
        let mut snap = IntervalSnapshot {
            second,
            users: self.active_users(),
            connections: self.connections.drain(),
            generator: self.generator.drain(),
            ..Default::default()
        };
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(|p| p.into_inner()));
            if let Some(ttfb) = &taken.ttfb_us {
                snap.connections
                    .ttfb_us
                    .add(ttfb)
                    .expect("histograms share bounds");
            }
            for (name, stats) in taken.scenarios {
                snap.scenarios.entry(name).or_default().merge(&stats);
            }
            for (name, n) in taken.counters {
                *snap.counters.entry(name).or_default() += n;
            }
            for (name, methods) in taken.endpoints {
                for (method, stats) in methods {
                    let key = EndpointKey {
                        method: method.to_string(),
                        name: name.clone(),
                    };
                    snap.endpoints.entry(key).or_default().merge(&stats);
                }
            }
        }
        fold_past_bound(&mut snap);
        snap
    }
}

/// Rows past what a snapshot may carry ([`MAX_SNAPSHOT_ENDPOINTS`]: 500
/// names under more methods each than any test uses) go to the row of
/// other names, with their method, so no manager refuses the snapshot.
fn fold_past_bound(snap: &mut IntervalSnapshot) {
    let methods: std::collections::BTreeSet<String> =
        snap.endpoints.keys().map(|k| k.method.clone()).collect();
    let room = MAX_SNAPSHOT_ENDPOINTS.saturating_sub(methods.len());
    if snap.endpoints.len() <= MAX_SNAPSHOT_ENDPOINTS {
        return;
    }
    let past: Vec<EndpointKey> = snap
        .endpoints
        .keys()
        .filter(|k| k.name != OTHER_NAMES)
        .skip(room)
        .cloned()
        .collect();
    for key in past {
        let stats = snap.endpoints.remove(&key).expect("a key just listed");
        let other = EndpointKey {
            method: key.method,
            name: OTHER_NAMES.to_string(),
        };
        snap.endpoints.entry(other).or_default().merge(&stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_under_concurrent_recording_and_draining() {
        let recorder = Arc::new(Recorder::new());
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let recorder = recorder.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        let name = if i % 3 == 0 { "/a" } else { "/b" };
                        let failure = (i % 10 == 0).then_some((FailureKind::Status, "HTTP 500"));
                        recorder.record(Sample {
                            method: "GET",
                            name,
                            latency_us: i + t,
                            service_us: None,
                            bytes: 1,
                            failure,
                            ttfb_us: None,
                            status: 200,
                            scenario: Some("reader"),
                        });
                    }
                })
            })
            .collect();
        let mut intervals = Vec::new();
        let mut second = 0;
        while threads.iter().any(|t| !t.is_finished()) {
            intervals.push(recorder.drain(second));
            second += 1;
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        intervals.push(recorder.drain(second));

        let mut cumulative = EndpointStats::default();
        let mut interval_sum = 0;
        for snap in &intervals {
            let total = snap.total();
            interval_sum += total.requests;
            cumulative.merge(&total);
        }
        assert_eq!(interval_sum, 120_000);
        assert_eq!(cumulative.requests, 120_000);
        assert_eq!(cumulative.hist.len(), 120_000);
        assert_eq!(cumulative.failures, 12_000);
        assert_eq!(cumulative.bytes, 120_000);
    }

    /// A 10 us, 200 answer to `method name`.
    fn ok<'a>(method: &'static str, name: &'a str) -> Sample<'a> {
        Sample {
            method,
            name,
            latency_us: 10,
            service_us: None,
            bytes: 0,
            failure: None,
            ttfb_us: None,
            status: 200,
            scenario: None,
        }
    }

    #[test]
    fn a_snapshot_keeps_within_what_a_manager_decodes() {
        let r = Recorder::new();
        let methods = ["GET", "POST", "PUT"];
        for i in 0..400 {
            let name = format!("/things/{i}");
            for method in methods {
                r.record(ok(method, &name));
            }
        }
        let snap = r.drain(0);
        // 1,021 rows of their own (room left for one other-names row per
        // method), the last 179 (all PUT, in key order) in one more.
        assert_eq!(snap.endpoints.len(), 1_022);
        assert_eq!(snap.total().requests, 1_200, "folded, not lost");
        let other = EndpointKey {
            method: "PUT".into(),
            name: OTHER_NAMES.into(),
        };
        assert_eq!(snap.endpoints[&other].requests, 179);
        let wire = serde_json::to_string(&snap).unwrap();
        let back: IntervalSnapshot = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, snap);
    }

    #[test]
    fn a_snapshot_with_rows_past_the_bound_is_refused_while_decoding() {
        let rows: Vec<String> = (0..=MAX_SNAPSHOT_ENDPOINTS)
            .map(|i| {
                let key = EndpointKey {
                    method: "GET".into(),
                    name: format!("/{i}"),
                };
                serde_json::to_string(&(key, EndpointStats::default())).unwrap()
            })
            .collect();
        let wire = format!(
            r#"{{"second":0,"users":0,"endpoints":[{}]}}"#,
            rows.join(",")
        );
        let err = serde_json::from_str::<IntervalSnapshot>(&wire).unwrap_err();
        assert!(
            err.to_string().contains("more than 1024 endpoint rows"),
            "{err}"
        );
        let fits = format!(
            r#"{{"second":0,"users":0,"endpoints":[{}]}}"#,
            rows[1..].join(",")
        );
        assert!(serde_json::from_str::<IntervalSnapshot>(&fits).is_ok());
        let counters: Vec<String> = (0..=1_024).map(|i| format!(r#""c{i}":1"#)).collect();
        let wire = format!(
            r#"{{"second":0,"users":0,"endpoints":[],"counters":{{{}}}}}"#,
            counters.join(",")
        );
        let err = serde_json::from_str::<IntervalSnapshot>(&wire).unwrap_err();
        assert!(err.to_string().contains("more than 1024 counters"), "{err}");
    }

    #[test]
    fn names_past_the_cap_share_one_row() {
        let r = Recorder::new();
        for i in 0..MAX_NAMES + 100 {
            let name = format!("/orders/{i}");
            for _ in 0..2 {
                r.record(ok("GET", &name));
            }
        }
        let snap = r.drain(0);
        assert_eq!(snap.endpoints.len(), MAX_NAMES + 1);
        let other = snap
            .endpoints
            .iter()
            .find(|(k, _)| k.name == OTHER_NAMES)
            .unwrap()
            .1;
        assert_eq!(other.requests, 200);
        assert_eq!(snap.total().requests, 2 * (MAX_NAMES as u64 + 100));
    }

    #[test]
    fn user_gauge_never_underflows() {
        let r = Recorder::new();
        r.user_stopped();
        r.user_started();
        assert_eq!(r.active_users(), 1);
    }
}
