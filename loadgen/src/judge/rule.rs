//! One pass/fail rule (`p95<500ms for GET /books/{id}`, `error-rate<1% for 30s`,
//! `recovery<30s`): its grammar, and how its values read. Judging a rule on
//! what a run measured is [`super::evaluate`].

use crate::units::{fmt_secs, fmt_us, parse_rate, parse_secs, parse_time_us};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Percentile(f64),
    Avg,
    Min,
    Max,
    ErrorRate,
    Rps,
    /// Seconds from each fault (`--at`) to recovery: the slowest fault is judged.
    Recovery,
    /// A task's counter (`vu.count`), in all: `count(orders)>=100`.
    Count,
    /// A task's counter per second of the run: `rate(orders)>2`.
    CountRate,
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

impl Metric {
    /// Whether each second of the series carries this metric (so a rule with
    /// a window can judge it).
    pub fn per_second(self) -> bool {
        match self {
            Metric::Percentile(q) => [50.0, 95.0, 99.0].contains(&q),
            Metric::Avg | Metric::Max | Metric::ErrorRate | Metric::Rps => true,
            Metric::Min | Metric::Recovery | Metric::Count | Metric::CountRate => false,
        }
    }
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
    /// `for 30s`: judged on each second's figures, breached when the rule is
    /// broken in every one of this many consecutive seconds (see
    /// [`super::sustained`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
}

const METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FLOW", "TASK",
];

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, String> {
        let bad = |why: String| format!("bad threshold '{text}': {why}");
        let mut clauses = text.split(" for ");
        let cond = clauses.next().unwrap_or_default().trim();
        let (mut target, mut window_secs) = (None, None);
        for clause in clauses.map(str::trim) {
            let is_span = clause.starts_with(|c: char| c.is_ascii_digit());
            match (is_span, window_secs, target) {
                (true, None, _) => {
                    let secs = parse_secs(clause).map_err(bad)?;
                    if secs == 0 {
                        return Err(bad("a window must last at least 1s".into()));
                    }
                    window_secs = Some(secs);
                }
                (false, _, None) => target = Some(clause),
                _ => {
                    return Err(bad(
                        "at most one window ('for 30s') and one request ('for GET /books/{id}')"
                            .into(),
                    ))
                }
            }
        }
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
        let (metric, counter) = match counter_of(metric_text.trim()) {
            Some((metric, name)) => (metric, Some(name)),
            None => (parse_metric(metric_text.trim()).map_err(bad)?, None),
        };
        if counter.is_some() && (target.is_some() || window_secs.is_some()) {
            return Err(bad(
                "a counter's rule has no window and names no request".into()
            ));
        }
        let limit = match metric {
            Metric::ErrorRate => parse_rate(value.trim()),
            Metric::Count | Metric::CountRate => value
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("'{}' is not a number", value.trim())),
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
        if metric == Metric::Recovery && (window_secs.is_some() || target.is_some()) {
            return Err(bad(
                "recovery judges every fault of the run: no window and no request".into(),
            ));
        }
        if window_secs.is_some() && !metric.per_second() {
            return Err(bad(
                "a window judges each second's p50, p95, p99, avg, max, error-rate or rps".into(),
            ));
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
            None => (None, counter),
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
            window_secs,
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

    /// A result for an observed value (`None`: nothing to judge, which fails).
    pub(super) fn result(&self, observed: Option<f64>, why_none: Option<String>) -> RuleResult {
        RuleResult {
            rule: self.text.clone(),
            observed,
            observed_text: observed.map_or_else(
                || why_none.unwrap_or_else(|| "no samples".into()),
                |o| self.format(o),
            ),
            limit_text: self.format(self.limit),
            passed: observed.is_some_and(|o| self.op.holds(o, self.limit)),
        }
    }

    /// A value of this rule's metric, for people (`12.50%`, `1.2s`, `30s`).
    pub fn format(&self, v: f64) -> String {
        match self.metric {
            Metric::ErrorRate => format!("{:.2}%", v * 100.0),
            Metric::Rps => format!("{v:.1} rps"),
            Metric::Recovery => fmt_secs((v / 1e6).round() as u64),
            Metric::Count => format!("{v:.0}"),
            Metric::CountRate => format!("{v:.2}/s"),
            _ => fmt_us(v.round() as u64),
        }
    }
}

/// `count(NAME)` or `rate(NAME)`: a counter's metric and its name.
fn counter_of(text: &str) -> Option<(Metric, String)> {
    let (metric, rest) = if let Some(rest) = text.strip_prefix("count(") {
        (Metric::Count, rest)
    } else {
        (Metric::CountRate, text.strip_prefix("rate(")?)
    };
    let name = rest.strip_suffix(')')?.trim();
    (!name.is_empty()).then(|| (metric, name.to_string()))
}

fn parse_metric(text: &str) -> Result<Metric, String> {
    match text {
        "avg" | "mean" => Ok(Metric::Avg),
        "min" => Ok(Metric::Min),
        "max" => Ok(Metric::Max),
        "error-rate" | "error_rate" | "errors" => Ok(Metric::ErrorRate),
        "rps" => Ok(Metric::Rps),
        "recovery" => Ok(Metric::Recovery),
        _ => match text.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()) {
            Some(p) if p > 0.0 && p <= 100.0 => Ok(Metric::Percentile(p)),
            _ => Err(format!("unknown metric '{text}': use pNN (p50, p95, p99.9), avg, min, max, error-rate, rps, recovery, count(NAME) or rate(NAME)")),
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = Rule::parse("error-rate>1% for 30s").unwrap();
        assert_eq!((r.window_secs, r.op, r.limit), (Some(30), Op::Gt, 0.01));
        assert_eq!(Rule::parse("p95>5s for 2m").unwrap().window_secs, Some(120));
        let r = Rule::parse("recovery<30s").unwrap();
        assert_eq!((r.metric, r.limit), (Metric::Recovery, 30_000_000.0));
        let r = Rule::parse("count(orders_created)>=100").unwrap();
        assert_eq!(
            (r.metric, r.name.as_deref(), r.limit),
            (Metric::Count, Some("orders_created"), 100.0)
        );
        assert_eq!(
            Rule::parse("rate(orders)>2.5").unwrap().metric,
            Metric::CountRate
        );
        assert!(Rule::parse("count(x)>1 for 30s").is_err());
        assert_eq!(
            Rule::parse("p95<2s for FLOW checkout")
                .unwrap()
                .method
                .as_deref(),
            Some("FLOW")
        );
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
            ("p95<1s for 0s", "at least 1s"),
            ("p95<1s for 30x", "unknown unit"),
            ("p95<1s for 30s for 20s", "at most one window"),
            ("p99.9<1s for 30s", "each second's p50"),
            ("min<1ms for 30s", "each second's p50"),
            ("recovery<30s for 10s", "every fault"),
            ("recovery<soon", "not a time"),
        ] {
            let err = Rule::parse(text).unwrap_err();
            assert!(
                err.contains(text.trim()) && err.contains(why),
                "{text}: {err}"
            );
        }
    }
}
