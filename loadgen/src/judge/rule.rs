//! One pass/fail rule (`p95<500ms for GET /books/{id}`): its grammar and its
//! judgment on HDR stats.

use crate::metrics::{EndpointKey, EndpointStats};
use crate::units::{fmt_us, parse_rate, parse_time_us};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Percentile(f64),
    Avg,
    Min,
    Max,
    ErrorRate,
    Rps,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
        }
    }
}

/// One rule. `limit` is in microseconds for times, a fraction for error rates,
/// requests per second for `rps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub text: String,
    pub metric: Metric,
    pub op: Op,
    pub limit: f64,
    /// `None` judges all requests; a name alone judges every method of it.
    pub method: Option<String>,
    pub name: Option<String>,
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, String> {
        let bad = |why: String| format!("bad threshold '{text}': {why}");
        let (cond, target) = match text.split_once(" for ") {
            Some((c, t)) => (c.trim(), Some(t.trim())),
            None => (text.trim(), None),
        };
        let at = cond
            .find(['<', '>'])
            .ok_or_else(|| bad("no operator: use <, <=, > or >=, as in p95<500ms".into()))?;
        let (metric_text, rest) = cond.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else {
            (Op::Gt, &rest[1..])
        };
        let metric = parse_metric(metric_text.trim()).map_err(bad)?;
        let limit = match metric {
            Metric::ErrorRate => parse_rate(value.trim()),
            Metric::Rps => value
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("'{}' is not a number of requests per second", value.trim())),
            _ => parse_time_us(value.trim()),
        }
        .map_err(bad)?;
        if !limit.is_finite() || limit < 0.0 {
            return Err(bad("the limit must be a positive number".into()));
        }
        let never = match (metric, op) {
            (_, Op::Lt) if limit == 0.0 => true,
            (Metric::ErrorRate, Op::Gt) if limit >= 1.0 => true,
            (Metric::ErrorRate, Op::Ge) if limit > 1.0 => true,
            _ => false,
        };
        if never {
            return Err(bad("this rule can never pass".into()));
        }
        let (method, name) = match target {
            None => (None, None),
            Some("") => {
                return Err(bad(
                    "'for' must name a request, as in 'for GET /books/{id}'".into(),
                ))
            }
            Some(t) => match t.split_once(' ') {
                Some((m, n)) if METHODS.contains(&m) => {
                    (Some(m.to_string()), Some(n.trim().to_string()))
                }
                _ => (None, Some(t.to_string())),
            },
        };
        Ok(Rule {
            text: text.trim().to_string(),
            metric,
            op,
            limit,
            method,
            name,
        })
    }

    /// Whether an observed value passes this rule.
    pub fn holds(&self, observed: f64) -> bool {
        self.op.holds(observed, self.limit)
    }

    /// Whether this rule judges a rate over the whole run (not meaningful mid ramp-up).
    pub fn is_throughput(&self) -> bool {
        self.metric == Metric::Rps
    }

    fn matches(&self, key: &EndpointKey) -> bool {
        self.name.as_deref() == Some(key.name.as_str())
            && self.method.as_deref().is_none_or(|m| m == key.method)
    }

    /// Judges the rule on stats measured over `secs` seconds.
    pub fn evaluate(
        &self,
        total: &EndpointStats,
        endpoints: &BTreeMap<EndpointKey, EndpointStats>,
        secs: f64,
    ) -> RuleResult {
        let mut subject = EndpointStats::default();
        let stats = if self.name.is_some() {
            endpoints
                .iter()
                .filter(|(k, _)| self.matches(k))
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
            })
        };
        let passed = observed.is_some_and(|o| self.op.holds(o, self.limit));
        RuleResult {
            rule: self.text.clone(),
            observed,
            observed_text: observed.map_or_else(|| "no samples".into(), |o| self.format(o)),
            limit_text: self.format(self.limit),
            passed,
        }
    }

    fn format(&self, v: f64) -> String {
        match self.metric {
            Metric::ErrorRate => format!("{:.2}%", v * 100.0),
            Metric::Rps => format!("{v:.1} rps"),
            _ => fmt_us(v.round() as u64),
        }
    }
}

fn parse_metric(text: &str) -> Result<Metric, String> {
    match text {
        "avg" | "mean" => Ok(Metric::Avg),
        "min" => Ok(Metric::Min),
        "max" => Ok(Metric::Max),
        "error-rate" | "error_rate" | "errors" => Ok(Metric::ErrorRate),
        "rps" => Ok(Metric::Rps),
        _ => match text.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()) {
            Some(p) if p > 0.0 && p <= 100.0 => Ok(Metric::Percentile(p)),
            _ => Err(format!("unknown metric '{text}': use pNN (p50, p95, p99.9), avg, min, max, error-rate or rps")),
        },
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: String,
    pub observed: Option<f64>,
    pub observed_text: String,
    pub limit_text: String,
    pub passed: bool,
}

pub fn evaluate_all(
    rules: &[Rule],
    total: &EndpointStats,
    endpoints: &BTreeMap<EndpointKey, EndpointStats>,
    secs: f64,
) -> Vec<RuleResult> {
    rules
        .iter()
        .map(|r| r.evaluate(total, endpoints, secs))
        .collect()
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
    fn parses_the_cli_examples() {
        let r = Rule::parse("p95<500ms").unwrap();
        assert_eq!(
            (r.metric, r.op, r.limit),
            (Metric::Percentile(95.0), Op::Lt, 500_000.0)
        );
        assert_eq!(Rule::parse("p99<=2s").unwrap().limit, 2_000_000.0);
        assert_eq!(Rule::parse("avg<50ms").unwrap().metric, Metric::Avg);
        assert_eq!(Rule::parse("error-rate<1%").unwrap().limit, 0.01);
        assert_eq!(Rule::parse("rps>=1000").unwrap().op, Op::Ge);
        let r = Rule::parse("p99<1s for GET /books/{id}").unwrap();
        assert_eq!(
            (r.method.as_deref(), r.name.as_deref()),
            (Some("GET"), Some("/books/{id}"))
        );
        assert_eq!(
            Rule::parse("p99.9<3s").unwrap().metric,
            Metric::Percentile(99.9)
        );
        assert_eq!(Rule::parse("p50<40ms").unwrap().limit, 40_000.0);
    }

    #[test]
    fn bad_rules_name_themselves_and_the_problem() {
        for (text, why) in [
            ("p95 500ms", "no operator"),
            ("p101<1s", "unknown metric"),
            ("latency<1s", "unknown metric"),
            ("p95<fast", "not a time"),
            ("error-rate<lots", "not a rate"),
            ("rps>many", "not a number"),
            ("p95<0ms", "never pass"),
            ("error-rate>100%", "never pass"),
            ("p95<5", "has no unit"),
            ("error-rate<1", "write 1%"),
            ("error-rate<0.01", "write 1%"),
            ("error-rate<150%", "at most 100%"),
            ("p95<1s for ", "must name a request"),
        ] {
            let err = Rule::parse(text).unwrap_err();
            assert!(
                err.contains(text.trim()) && err.contains(why),
                "{text}: {err}"
            );
        }
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
        let check = |t: &str| Rule::parse(t).unwrap().evaluate(&total, &eps, 10.0).passed;
        assert!(check("p50<501ms") && !check("p50<499ms"));
        assert!(check("error-rate<1%") && !check("error-rate<0.4%"));
        assert!(check("rps>=100") && !check("rps>100"));
        assert!(!check("p99<1s for GET /a") && check("p99<6s for /a"));
        let none = Rule::parse("p99<1s for GET /missing")
            .unwrap()
            .evaluate(&total, &eps, 10.0);
        assert!(!none.passed && none.observed_text == "no samples");
    }
}
