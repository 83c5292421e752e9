//! The aggregator: merges interval snapshots (from this process or from workers)
//! into cumulative stats, a per-second series and a trailing window.

use super::connection_figures::ConnectionTotals;
use super::connections::ConnectionStats;
use super::figures::ErrorCount;
use super::generator::{GeneratorStats, GeneratorTotals};
use super::hdr;
use super::recorder::{MAX_NAMES, OTHER_NAMES};

/// Rows of timed flows (`vu.measure`): kept out of the totals.
pub const FLOW_METHOD: &str = "FLOW";
use super::request_series::RequestSeries;
use super::second::SecondPoint;
use super::snapshot::{EndpointKey, EndpointStats, FailureKind, IntervalSnapshot};

use std::collections::{BTreeMap, VecDeque};

#[derive(Default)]
struct PendingSecond {
    users: u64,
    connections: ConnectionStats,
    generator: GeneratorStats,
    total: EndpointStats,
    per_endpoint: BTreeMap<EndpointKey, EndpointStats>,
}

/// The entry of `name`, or of `OTHER_NAMES` once `MAX_NAMES` are kept.
fn capped<'a, V: Default>(map: &'a mut BTreeMap<String, V>, name: &str) -> &'a mut V {
    let key = if map.contains_key(name) || map.len() < MAX_NAMES {
        name
    } else {
        OTHER_NAMES
    };
    map.entry(key.to_string()).or_default()
}

/// A second that has been finalized: its point and its merged stats.
pub struct FinalSecond {
    pub point: SecondPoint,
    pub total: EndpointStats,
    pub per_endpoint: BTreeMap<EndpointKey, EndpointStats>,
}

/// Everything measured so far. Seconds stay pending until `finalize_through`,
/// so snapshots from several workers for the same second merge first.
pub struct Aggregator {
    pub endpoints: BTreeMap<EndpointKey, EndpointStats>,
    /// The same requests by scenario (persona), over the run.
    pub scenarios: BTreeMap<String, EndpointStats>,
    /// Tasks' own counters (`vu.count`), over the run.
    pub counters: BTreeMap<String, u64>,
    pub total: EndpointStats,
    pub series: Vec<SecondPoint>,
    /// The users' connections over the run (per-user model).
    pub connections: ConnectionTotals,
    /// How well the generators kept their schedule over the run.
    pub generator: GeneratorTotals,
    /// The per-second series of the requests asked for with [`Aggregator::watch`].
    pub request_series: Vec<RequestSeries>,
    pending: BTreeMap<u64, PendingSecond>,
    window: VecDeque<EndpointStats>,
    window_len: usize,
    /// Each distinct error's first and last second.
    seen: BTreeMap<(EndpointKey, FailureKind, String), (u64, u64)>,
    /// The request names given rows (at most `MAX_NAMES`; workers each cap
    /// their own, so the manager caps their union again).
    names: std::collections::HashSet<String>,
}

impl Aggregator {
    /// `window_len`: how many finalized seconds `window()` can look back over.
    pub fn new(window_len: usize) -> Aggregator {
        Aggregator {
            endpoints: BTreeMap::new(),
            scenarios: BTreeMap::new(),
            counters: BTreeMap::new(),
            total: EndpointStats::default(),
            series: Vec::new(),
            connections: ConnectionTotals::default(),
            generator: GeneratorTotals::default(),
            request_series: Vec::new(),
            pending: BTreeMap::new(),
            window: VecDeque::new(),
            window_len: window_len.max(1),
            seen: BTreeMap::new(),
            names: Default::default(),
        }
    }

    /// Keeps a per-second series of `method` (`None`: every method) and
    /// `name` from the next second closed on (call before the run starts).
    pub fn watch(&mut self, method: Option<&str>, name: &str) {
        if RequestSeries::find(&self.request_series, method, name).is_none() {
            self.request_series.push(RequestSeries::new(method, name));
        }
    }

    /// Adds a snapshot to its pending second. The cumulative figures take it
    /// when that second is finalized, so each endpoint is merged into them once
    /// per second rather than once per worker: this is the manager's hot path.
    ///
    /// A snapshot for a second already closed is refused (`false`): merged
    /// now it would make a second point for that second, out of order.
    pub fn ingest(&mut self, snap: &IntervalSnapshot) -> bool {
        if self.series.last().is_some_and(|p| snap.second <= p.second) {
            return false;
        }
        for (name, stats) in &snap.scenarios {
            capped(&mut self.scenarios, name).merge(stats);
        }
        for (name, n) in &snap.counters {
            *capped(&mut self.counters, name) += n;
        }
        let pending = self.pending.entry(snap.second).or_default();
        pending.users += snap.users;
        pending.connections.merge(&snap.connections);
        pending.generator.merge(&snap.generator);
        for (key, stats) in &snap.endpoints {
            let folded;
            let key = if key.name == OTHER_NAMES || self.names.contains(&key.name) {
                key
            } else if self.names.len() < MAX_NAMES {
                self.names.insert(key.name.clone());
                key
            } else {
                folded = EndpointKey {
                    method: key.method.clone(),
                    name: OTHER_NAMES.to_string(),
                };
                &folded
            };
            match pending.per_endpoint.get_mut(key) {
                Some(p) => p.merge(stats),
                None => {
                    pending.per_endpoint.insert(key.clone(), stats.clone());
                }
            }
        }
        true
    }

    /// Closes every pending second up to and including `second`, in order.
    pub fn finalize_through(&mut self, second: u64) -> Vec<FinalSecond> {
        let later = self.pending.split_off(&(second + 1));
        let done = std::mem::replace(&mut self.pending, later);
        let mut out = Vec::with_capacity(done.len());
        for (second, mut p) in done {
            for (key, stats) in &p.per_endpoint {
                // A timed flow's requests are in the total already.
                if key.method != FLOW_METHOD {
                    p.total.merge(stats);
                }
                self.endpoints.entry(key.clone()).or_default().merge(stats);
                for (kind, message) in stats.errors.keys() {
                    self.seen
                        .entry((key.clone(), *kind, message.clone()))
                        .and_modify(|(_, last)| *last = second)
                        .or_insert((second, second));
                }
            }
            self.total.merge(&p.total);
            let mut point = SecondPoint::from_stats(second, p.users, &p.total);
            point.connections = p.connections.open;
            point.connects = p.connections.opened;
            self.connections.add(&p.connections);
            point.dropped = p.generator.dropped;
            point.queued = p.generator.queued;
            point.lag_p99_us = hdr::percentile(&p.generator.lag_us, 99.0);
            point.cpu = p.generator.cpu;
            self.generator.add(&p.generator);
            for watched in &mut self.request_series {
                watched.push(second, p.users, &p.per_endpoint);
            }
            self.series.push(point.clone());
            self.window.push_back(p.total.clone());
            if self.window.len() > self.window_len {
                self.window.pop_front();
            }
            out.push(FinalSecond {
                point,
                total: p.total,
                per_endpoint: p.per_endpoint,
            });
        }
        out
    }

    /// The last `secs` finalized seconds merged (fewer if the run is younger).
    pub fn window(&self, secs: usize) -> EndpointStats {
        let mut merged = EndpointStats::default();
        for stats in self.window.iter().rev().take(secs) {
            merged.merge(stats);
        }
        merged
    }

    /// Every endpoint's distinct errors, most frequent first, with when each was
    /// first and last seen (`None` while its seconds are pending).
    pub fn errors(&self) -> Vec<ErrorCount> {
        let mut errors: Vec<ErrorCount> = self
            .endpoints
            .iter()
            .flat_map(|(k, s)| {
                s.errors.iter().map(move |((kind, message), count)| {
                    let seen = self.seen.get(&(k.clone(), *kind, message.clone()));
                    ErrorCount {
                        method: k.method.clone(),
                        name: k.name.clone(),
                        kind: *kind,
                        message: message.clone(),
                        count: *count,
                        first_second: seen.map(|s| s.0),
                        last_second: seen.map(|s| s.1),
                    }
                })
            })
            .collect();
        errors.sort_by_key(|e| std::cmp::Reverse(e.count));
        errors
    }

    /// Users in the most recent finalized second.
    pub fn current_users(&self) -> u64 {
        self.series.last().map_or(0, |p| p.users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(second: u64, users: u64, latencies: &[u64]) -> IntervalSnapshot {
        let mut s = IntervalSnapshot {
            second,
            users,
            ..Default::default()
        };
        let stats = s
            .endpoints
            .entry(EndpointKey {
                method: "GET".into(),
                name: "/x".into(),
            })
            .or_default();
        for &l in latencies {
            stats.record(l, 0, None);
        }
        s
    }

    #[test]
    fn seconds_from_several_workers_merge_before_finalizing() {
        let mut agg = Aggregator::new(10);
        agg.ingest(&snap(0, 5, &[100, 200]));
        agg.ingest(&snap(0, 7, &[300]));
        agg.ingest(&snap(1, 12, &[400]));
        let done = agg.finalize_through(0);
        assert_eq!(agg.total.requests, 3, "totals count once a second closes");
        assert_eq!(agg.endpoints.values().map(|s| s.requests).sum::<u64>(), 3);
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].point.users, done[0].point.requests), (12, 3));
        agg.finalize_through(5);
        assert_eq!(agg.total.requests, 4);
        // A report for a second already closed is refused, not a second point for it.
        assert!(!agg.ingest(&snap(1, 12, &[500])));
        assert_eq!(agg.total.requests, 4);
        assert_eq!(
            agg.series.iter().map(|p| p.requests).sum::<u64>(),
            agg.total.requests
        );
    }

    #[test]
    fn errors_are_listed_most_frequent_first_with_when_seen() {
        let mut agg = Aggregator::new(10);
        for second in [2, 5, 9] {
            let mut s = snap(second, 1, &[]);
            let stats = s.endpoints.values_mut().next().unwrap();
            stats.record(1, 0, Some((FailureKind::Status, "HTTP 500")));
            if second == 5 {
                stats.record(1, 0, Some((FailureKind::Timeout, "timed out")));
            }
            agg.ingest(&s);
        }
        agg.finalize_through(9);
        let list = agg.errors();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].message.as_str(), list[0].count), ("HTTP 500", 3));
        assert_eq!(
            (list[0].first_second, list[0].last_second),
            (Some(2), Some(9))
        );
        assert_eq!(
            (list[1].kind, list[1].first_second),
            (FailureKind::Timeout, Some(5))
        );
    }

    #[test]
    fn a_watched_request_gets_a_series_of_its_own() {
        let mut agg = Aggregator::new(10);
        agg.watch(Some("GET"), "/x");
        agg.watch(Some("GET"), "/x");
        agg.watch(None, "/y");
        agg.ingest(&snap(0, 3, &[100, 200]));
        agg.ingest(&snap(1, 3, &[]));
        agg.ingest(&snap(2, 4, &[300]));
        agg.finalize_through(2);
        assert_eq!(agg.request_series.len(), 2, "asked twice, kept once");
        let x = &agg.request_series[0];
        assert_eq!(
            x.points
                .iter()
                .map(|p| (p.second, p.users, p.requests))
                .collect::<Vec<_>>(),
            [(0, 3, 2), (1, 3, 0), (2, 4, 1)]
        );
        assert!(agg.request_series[1].points.iter().all(|p| p.requests == 0));
    }

    #[test]
    fn window_looks_back_only_as_far_as_asked() {
        let mut agg = Aggregator::new(3);
        for s in 0..5 {
            agg.ingest(&snap(s, 1, &[1_000 * (s + 1)]));
        }
        agg.finalize_through(4);
        assert_eq!(agg.window(2).requests, 2);
        assert_eq!(agg.window(10).requests, 3);
        assert_eq!(
            agg.window(1).hist.max(),
            agg.window(1).hist.highest_equivalent(5_000)
        );
    }
}
