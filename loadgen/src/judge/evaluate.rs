//! A rule judged on what a run measured: the cumulative histograms (all
//! requests, or the ones it names), the per-second series for a rule with a
//! window ([`super::sustained`]), the faults' recoveries for `recovery`.

use super::recovery::FaultReport;
use super::rule::{Metric, Rule, RuleResult};
use super::sustained;
use crate::metrics::{EndpointKey, EndpointStats, RequestSeries, SecondPoint};
use std::collections::BTreeMap;

/// What a run measured, for judging rules: the cumulative histograms, the
/// per-second series and the faults' recoveries.
pub struct Evidence<'a> {
    pub total: &'a EndpointStats,
    pub endpoints: &'a BTreeMap<EndpointKey, EndpointStats>,
    /// Seconds the run lasted, for rate rules.
    pub secs: f64,
    pub series: &'a [SecondPoint],
    /// The series of the requests windowed rules name.
    pub request_series: &'a [RequestSeries],
    pub faults: &'a [FaultReport],
    /// Tasks' counters (`vu.count`), over the run.
    pub counters: &'a BTreeMap<String, u64>,
}

impl Rule {
    /// Judges the rule on what the run measured.
    pub fn evaluate(&self, e: &Evidence) -> RuleResult {
        if let Some(window) = self.window_secs {
            return match sustained::series_for(self, e.series, e.request_series) {
                Some(series) => sustained::judge(self, window, series),
                None => RuleResult {
                    observed_text: "no per-second series of this request: kept only for \
                                    requests a windowed rule named when the run ran"
                        .into(),
                    ..sustained::judge(self, window, &[])
                },
            };
        }
        if self.metric == Metric::Recovery {
            return self.judge_recovery(e.faults);
        }
        if matches!(self.metric, Metric::Count | Metric::CountRate) {
            let name = self.name.as_deref().unwrap_or_default();
            let total = e.counters.get(name).copied().unwrap_or(0) as f64;
            let observed = if self.metric == Metric::Count {
                total
            } else {
                total / e.secs.max(1e-9)
            };
            return self.result(Some(observed), None);
        }
        let (total, endpoints, secs) = (e.total, e.endpoints, e.secs);
        let mut subject = EndpointStats::default();
        let stats = if let Some(name) = self.name.as_deref() {
            endpoints
                .iter()
                .filter(|(k, _)| k.is(self.method.as_deref(), name))
                .for_each(|(_, s)| subject.merge(s));
            &subject
        } else {
            total
        };
        let observed = if stats.requests == 0 {
            None
        } else {
            Some(match self.metric {
                Metric::Percentile(p) => stats.percentile(p) as f64,
                Metric::Avg => stats.mean_us(),
                Metric::Min => stats.hist.min() as f64,
                Metric::Max => stats.hist.max() as f64,
                Metric::ErrorRate => stats.error_rate(),
                Metric::Rps => stats.requests as f64 / secs.max(1e-9),
                Metric::Recovery | Metric::Count | Metric::CountRate => {
                    unreachable!("judged above")
                }
            })
        };
        self.result(observed, None)
    }

    /// The slowest recovery of the run's faults; a fault that did not recover
    /// (or had no baseline to recover to) fails the rule.
    fn judge_recovery(&self, faults: &[FaultReport]) -> RuleResult {
        if faults.is_empty() {
            return self.result(None, Some("no fault ran".into()));
        }
        let mut slowest = 0u64;
        for (i, f) in faults.iter().enumerate() {
            let why = match &f.recovery {
                Some(r) => match r.recovered_after_secs {
                    Some(s) => {
                        slowest = slowest.max(s);
                        continue;
                    }
                    None => format!("fault {} not recovered", i + 1),
                },
                None => format!("fault {}: no measure", i + 1),
            };
            return self.result(None, Some(why));
        }
        self.result(Some(slowest as f64 * 1e6), None)
    }
}

pub fn evaluate_all(rules: &[Rule], evidence: &Evidence) -> Vec<RuleResult> {
    rules.iter().map(|r| r.evaluate(evidence)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(latencies: &[u64], failures: usize) -> EndpointStats {
        let mut s = EndpointStats::default();
        for (i, &l) in latencies.iter().enumerate() {
            let f = (i < failures).then_some((crate::metrics::FailureKind::Status, "HTTP 500"));
            s.record(l, 0, f);
        }
        s
    }

    #[test]
    fn evaluates_from_hdr() {
        let total = stats(&(1..=1000).map(|i| i * 1_000).collect::<Vec<_>>(), 5);
        let mut eps = BTreeMap::new();
        eps.insert(
            EndpointKey {
                method: "GET".into(),
                name: "/a".into(),
            },
            stats(&[5_000_000], 0),
        );
        let evidence = Evidence {
            total: &total,
            endpoints: &eps,
            secs: 10.0,
            series: &[],
            request_series: &[],
            faults: &[],
            counters: &BTreeMap::new(),
        };
        let check = |t: &str| Rule::parse(t).unwrap().evaluate(&evidence).passed;
        assert!(check("p50<501ms") && !check("p50<499ms"));
        assert!(check("error-rate<1%") && !check("error-rate<0.4%"));
        assert!(check("rps>=100") && !check("rps>100"));
        assert!(!check("p99<1s for GET /a") && check("p99<6s for /a"));
        let none = Rule::parse("p99<1s for GET /missing")
            .unwrap()
            .evaluate(&evidence);
        assert!(!none.passed && none.observed_text == "no samples");
    }

    #[test]
    fn a_windowed_rule_naming_a_request_is_judged_on_its_own_series() {
        let r = Rule::parse("p95<300ms for 3s for GET /books/{id}").unwrap();
        assert_eq!(
            (r.window_secs, r.method.as_deref(), r.name.as_deref()),
            (Some(3), Some("GET"), Some("/books/{id}"))
        );
        let same = Rule::parse("error-rate<1% for GET /a for 10s").unwrap();
        assert_eq!(
            (same.window_secs, same.name.as_deref()),
            (Some(10), Some("/a"))
        );
        // All requests fast, but GET /books/{id} slow from second 1 to 3.
        let point = |second: u64, p95_ms: u64| SecondPoint {
            second,
            requests: 10,
            p95_us: p95_ms * 1_000,
            ..Default::default()
        };
        let all: Vec<_> = (0..5).map(|s| point(s, 5)).collect();
        let mut books = RequestSeries::new(Some("GET"), "/books/{id}");
        books.points = [5_u64, 400, 500, 600, 5]
            .iter()
            .enumerate()
            .map(|(s, ms)| point(s as u64, *ms))
            .collect();
        let total = EndpointStats::default();
        let eps = BTreeMap::new();
        let evidence = Evidence {
            total: &total,
            endpoints: &eps,
            secs: 5.0,
            series: &all,
            request_series: std::slice::from_ref(&books),
            faults: &[],
            counters: &BTreeMap::new(),
        };
        let judged = r.evaluate(&evidence);
        assert!(!judged.passed);
        assert_eq!(judged.observed_text, "3s from 1s");
        assert!(
            Rule::parse("p95<300ms for 3s")
                .unwrap()
                .evaluate(&evidence)
                .passed
        );
        let missing = Rule::parse("p95<300ms for 3s for /loans")
            .unwrap()
            .evaluate(&evidence);
        assert!(!missing.passed && missing.observed.is_none());
        assert!(missing.observed_text.contains("no per-second series"));
        assert_eq!(missing.limit_text, "300.0ms for 3s");
    }
}
