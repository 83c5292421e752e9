//! Builds a [`Snapshot`] from the aggregator: the only dashboard code that runs
//! on the aggregator's task, so it copies a few numbers and nothing more.

use super::model::{EndpointLine, RuleLine, ServerLine, Snapshot, WorkerRow};
use crate::faults::FaultEvent;
use crate::judge::{Evidence, Rule};
use crate::metrics::{Aggregator, EndpointFigures, EndpointStats, FinalSecond};

/// Distinct errors sent per snapshot; the screen shows fewer.
const MAX_ERRORS: usize = 100;

/// The state of a run at one tick, local or distributed.
pub struct TickView<'a> {
    pub elapsed_secs: f64,
    pub aggregator: &'a Aggregator,
    /// Seconds closed at this tick.
    pub finalized: &'a [FinalSecond],
    pub rules: &'a [Rule],
    /// Whether the run counts its users' connections (the per-user model).
    pub connections: bool,
    pub workers: Vec<WorkerRow>,
    pub stopping: Option<String>,
    /// The `--at` actions so far.
    pub faults: &'a [FaultEvent],
    /// The target's own series (`--scrape`).
    pub server: Vec<ServerLine>,
}

pub fn capture(v: TickView<'_>) -> Snapshot {
    let agg = v.aggregator;
    let secs = v.elapsed_secs.max(1e-9);
    let points = v.finalized.iter().map(|f| f.point.clone()).collect();
    let endpoints = agg
        .endpoints
        .iter()
        .map(|(k, s)| line(&k.method, &k.name, s, secs))
        .collect();
    let mut errors = agg.errors();
    errors.truncate(MAX_ERRORS);
    let evidence = Evidence {
        total: &agg.total,
        endpoints: &agg.endpoints,
        secs,
        series: &agg.series,
        request_series: &agg.request_series,
        // Recoveries are judged when the run ends: shown without a verdict until then.
        faults: &[],
        counters: &agg.counters,
    };
    let rules = v
        .rules
        .iter()
        .map(|r| {
            let res = r.evaluate(&evidence);
            RuleLine {
                rule: res.rule,
                observed: res.observed_text,
                limit: res.limit_text,
                passed: res.observed.map(|_| res.passed),
            }
        })
        .collect();
    Snapshot {
        elapsed_secs: v.elapsed_secs,
        points,
        total: line("", "Aggregated", &agg.total, secs),
        endpoints,
        errors,
        rules,
        workers: v.workers,
        connections: v
            .connections
            .then(|| agg.series.last().map_or(0, |p| p.connections)),
        service_p99_us: agg
            .total
            .service
            .as_ref()
            .map(|h| crate::metrics::hdr::percentile(h, 99.0)),
        dropped: (agg.generator.arrivals > 0).then_some(agg.generator.dropped),
        generator_behind: agg.generator.bound_reasons().into_iter().next(),
        stopping: v.stopping,
        faults: v
            .faults
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((e.second()?, i + 1)))
            .collect(),
        server: v.server,
        plan: None,
        paused: false,
        controls: Vec::new(),
    }
}

fn line(method: &str, name: &str, s: &EndpointStats, secs: f64) -> EndpointLine {
    EndpointLine {
        method: method.into(),
        name: name.into(),
        figures: EndpointFigures::of(s, secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{EndpointKey, FailureKind, IntervalSnapshot};

    #[test]
    fn a_tick_becomes_plain_numbers_with_rules_judged() {
        let mut snap = IntervalSnapshot {
            second: 0,
            users: 4,
            ..Default::default()
        };
        let stats = snap
            .endpoints
            .entry(EndpointKey {
                method: "GET".into(),
                name: "/books".into(),
            })
            .or_default();
        stats.record(2_000, 100, None);
        stats.record(
            4_000,
            300,
            Some((FailureKind::Status, "503 Service Unavailable")),
        );
        let mut agg = Aggregator::new(10);
        agg.ingest(&snap);
        let finalized = agg.finalize_through(0);
        let rules = [
            Rule::parse("error-rate<1%").unwrap(),
            Rule::parse("p99<1s").unwrap(),
        ];
        let s = capture(TickView {
            elapsed_secs: 2.0,
            aggregator: &agg,
            finalized: &finalized,
            rules: &rules,
            connections: true,
            workers: vec![],
            stopping: None,
            // The second action, not started yet, keeps its number off the charts.
            faults: &[
                FaultEvent {
                    command: "redis-cli shutdown".into(),
                    started_secs: Some(0.5),
                    ..Default::default()
                },
                FaultEvent {
                    command: "later".into(),
                    ..Default::default()
                },
                FaultEvent {
                    command: "kill -STOP 1234".into(),
                    started_secs: Some(1.2),
                    ..Default::default()
                },
            ],
            server: vec![],
        });
        assert_eq!(s.faults, [(0, 1), (1, 3)]);
        assert_eq!(s.points.len(), 1);
        assert_eq!((s.points[0].users, s.points[0].requests), (4, 2));
        assert_eq!(s.total.figures.requests, 2);
        assert_eq!(s.endpoints[0].name, "/books");
        assert_eq!(s.endpoints[0].figures.rps, 1.0);
        assert_eq!(s.endpoints[0].figures.avg_bytes, 200.0);
        assert_eq!(
            (s.errors[0].method.as_str(), s.errors[0].name.as_str()),
            ("GET", "/books")
        );
        assert_eq!(s.errors[0].kind, crate::metrics::FailureKind::Status);
        assert_eq!(s.rules[0].passed, Some(false));
        assert_eq!(s.rules[0].observed, "50.00%");
        assert_eq!(s.rules[1].passed, Some(true));
    }
}
