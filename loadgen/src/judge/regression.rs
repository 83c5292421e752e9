//! A run against a baseline: P50/P95/P99, error rate and RPS, in total and per
//! endpoint present in both, each judged against a regression limit; the
//! endpoints of only one run are named, not silently skipped.

use crate::report::summary::{EndpointRow, Summary};
use crate::units::fmt_ms_fixed;
use std::io::{self, Write};

/// Endpoints with fewer requests than this in either run are shown, not judged:
/// their percentiles move too much by chance.
pub const MIN_JUDGED_REQUESTS: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    P50,
    P95,
    P99,
    ErrorRate,
    Rps,
}

impl Metric {
    const ALL: [Metric; 5] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::ErrorRate,
        Metric::Rps,
    ];

    fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::ErrorRate => "error-rate",
            Metric::Rps => "rps",
        }
    }

    fn value(self, r: &EndpointRow) -> f64 {
        match self {
            Metric::P50 => r.figures.p50_us as f64,
            Metric::P95 => r.figures.p95_us as f64,
            Metric::P99 => r.figures.p99_us as f64,
            Metric::ErrorRate if r.figures.requests == 0 => 0.0,
            Metric::ErrorRate => r.figures.failures as f64 * 100.0 / r.figures.requests as f64,
            Metric::Rps => r.figures.rps,
        }
    }

    fn show(self, v: f64) -> String {
        match self {
            Metric::ErrorRate => format!("{v:.2}%"),
            Metric::Rps => format!("{v:.1}/s"),
            _ => format!("{} ms", fmt_ms_fixed(v as u64)),
        }
    }
}

/// How far each metric may move the wrong way: latency and RPS as a fraction
/// (0.10 = 10%), error rate in percentage points. `None`: shown, not judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub error_rate_pp: Option<f64>,
    pub rps_drop: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            p50: None,
            p95: Some(0.10),
            p99: Some(0.15),
            error_rate_pp: Some(1.0),
            rps_drop: Some(0.05),
        }
    }
}

impl Limits {
    fn get(&self, m: Metric) -> Option<f64> {
        match m {
            Metric::P50 => self.p50,
            Metric::P95 => self.p95,
            Metric::P99 => self.p99,
            Metric::ErrorRate => self.error_rate_pp,
            Metric::Rps => self.rps_drop,
        }
    }

    /// The defaults overridden by `p95=10%,p99=off,error-rate=0.5pp,rps=5%`.
    /// Each limit carries its unit: `%` of the baseline for latency and RPS,
    /// `pp` (percentage points) for the error rate; a bare number is refused.
    pub fn parse(text: &str) -> Result<Limits, String> {
        let mut limits = Limits::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}': expected METRIC=LIMIT, as in p95=10%"))?;
            let (key, value) = (key.trim(), value.trim());
            let unit = if matches!(key, "error-rate" | "errors") {
                "pp"
            } else {
                "%"
            };
            let parsed = if value == "off" || value == "none" {
                None
            } else {
                let example = format!("{key}=10{unit}");
                let number = value.strip_suffix(unit).ok_or_else(|| match unit {
                    "pp" => format!(
                        "'{part}': the error rate's limit is in percentage points: write e.g. {key}=1pp"
                    ),
                    _ => format!("'{part}': write the limit with %, as in {example}"),
                })?;
                let n: f64 = number
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| {
                        format!("'{part}': the limit must be a number like {example} (or off)")
                    })?;
                // A drop of more than all, or more errors than every request, can never happen.
                if n > 100.0 && (unit == "pp" || key == "rps") {
                    return Err(format!("'{part}': at most 100{unit}"));
                }
                Some(n)
            };
            let fraction = parsed.map(|n| n / 100.0);
            match key {
                "p50" => limits.p50 = fraction,
                "p95" => limits.p95 = fraction,
                "p99" => limits.p99 = fraction,
                "rps" => limits.rps_drop = fraction,
                "error-rate" | "errors" => limits.error_rate_pp = parsed,
                other => {
                    return Err(format!(
                        "unknown metric '{other}': use p50, p95, p99, error-rate or rps"
                    ))
                }
            }
        }
        Ok(limits)
    }
}

/// One metric of one scope (the total or an endpoint) in both runs.
#[derive(Clone, Debug)]
pub struct Delta {
    pub scope: String,
    pub metric: Metric,
    pub baseline: f64,
    pub current: f64,
    pub limit: Option<f64>,
    pub regressed: bool,
}

impl Delta {
    /// Relative change for latency and RPS, percentage points for the error rate.
    fn change_text(&self) -> String {
        if self.metric == Metric::ErrorRate {
            return format!("{:+.2}pp", self.current - self.baseline);
        }
        if self.baseline == 0.0 {
            return "n/a".into();
        }
        format!("{:+.1}%", (self.current / self.baseline - 1.0) * 100.0)
    }

    fn limit_text(&self) -> String {
        match (self.metric, self.limit) {
            (_, None) => "-".into(),
            (Metric::ErrorRate, Some(l)) => format!("+{l}pp"),
            (Metric::Rps, Some(l)) => format!("-{}%", l * 100.0),
            (_, Some(l)) => format!("+{}%", l * 100.0),
        }
    }
}

fn judge(metric: Metric, base: f64, cur: f64, limit: f64) -> bool {
    match metric {
        Metric::ErrorRate => cur - base > limit + 1e-9,
        Metric::Rps => base > 0.0 && cur < base * (1.0 - limit),
        _ => base > 0.0 && cur > base * (1.0 + limit),
    }
}

pub struct Comparison {
    pub deltas: Vec<Delta>,
    /// What differs between the runs, and what could not be compared.
    pub notes: Vec<String>,
    /// The runs share no endpoint: only their totals were compared, which
    /// says little when they ran different things.
    pub nothing_in_common: bool,
}

pub fn compare(baseline: &Summary, current: &Summary, limits: &Limits) -> Comparison {
    let mut notes = Vec::new();
    let (b, c) = (&baseline.config, &current.config);
    if (&b.shape, b.users, b.duration_secs) != (&c.shape, c.users, c.duration_secs) {
        notes.push(format!(
            "the runs differ: baseline {} ({:?} users, {:?} s), current {} ({:?} users, {:?} s)",
            b.shape, b.users, b.duration_secs, c.shape, c.users, c.duration_secs
        ));
    }
    let mut scopes = vec![("Total".to_string(), &baseline.total, &current.total, true)];
    let find = |rows: &'_ [EndpointRow], r: &EndpointRow| {
        rows.iter()
            .position(|o| o.method == r.method && o.name == r.name)
    };
    for cur in &current.endpoints {
        if let Some(i) = find(&baseline.endpoints, cur) {
            let base = &baseline.endpoints[i];
            let judged = base.figures.requests >= MIN_JUDGED_REQUESTS
                && cur.figures.requests >= MIN_JUDGED_REQUESTS;
            scopes.push((format!("{} {}", cur.method, cur.name), base, cur, judged));
        }
    }
    let compared = scopes.len() - 1;
    let unmatched = |rows: &[EndpointRow], others: &[EndpointRow]| -> Vec<String> {
        rows.iter()
            .filter(|r| find(others, r).is_none())
            .map(|r| format!("{} {}", r.method, r.name))
            .collect()
    };
    let only_baseline = unmatched(&baseline.endpoints, &current.endpoints);
    let only_current = unmatched(&current.endpoints, &baseline.endpoints);
    for (which, names) in [("baseline", &only_baseline), ("current run", &only_current)] {
        if !names.is_empty() {
            notes.push(format!(
                "not compared, only in the {which}: {}",
                listed(names)
            ));
        }
    }
    let nothing_in_common =
        compared == 0 && !(baseline.endpoints.is_empty() && current.endpoints.is_empty());
    let mut deltas = Vec::new();
    for (scope, base, cur, judged) in scopes {
        for metric in Metric::ALL {
            let (bv, cv) = (metric.value(base), metric.value(cur));
            let limit = if judged { limits.get(metric) } else { None };
            deltas.push(Delta {
                scope: scope.clone(),
                metric,
                baseline: bv,
                current: cv,
                limit,
                regressed: limit.is_some_and(|l| judge(metric, bv, cv, l)),
            });
        }
    }
    Comparison {
        deltas,
        notes,
        nothing_in_common,
    }
}

/// Names for a note: the first ten, then how many more.
fn listed(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        text.push_str(&format!(" and {} more", names.len() - 10));
    }
    text
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.deltas.iter().filter(|d| d.regressed).count()
    }

    pub fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{:<36} {:<10} {:>12} {:>12} {:>9} {:>8}",
            "Scope", "Metric", "Baseline", "Current", "Change", "Limit"
        )?;
        for d in &self.deltas {
            let mut scope = d.scope.clone();
            if scope.chars().count() > 36 {
                scope = scope.chars().take(35).collect::<String>() + "~";
            }
            writeln!(
                out,
                "{scope:<36} {:<10} {:>12} {:>12} {:>9} {:>8}{}",
                d.metric.name(),
                d.metric.show(d.baseline),
                d.metric.show(d.current),
                d.change_text(),
                d.limit_text(),
                if d.regressed { "  REGRESSION" } else { "" }
            )?;
        }
        for n in &self.notes {
            writeln!(out, "note: {n}")?;
        }
        match self.regressions() {
            _ if self.nothing_in_common => writeln!(
                out,
                "Nothing compared but the totals: the runs share no endpoint."
            ),
            0 => writeln!(out, "No regression beyond the limits."),
            n => writeln!(out, "{n} regression(s) beyond the limits."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_over_the_defaults() {
        let l = Limits::parse("p95=20%, rps=off,error-rate=0.5pp").unwrap();
        assert_eq!(l.p95, Some(0.20));
        assert_eq!(l.rps_drop, None);
        assert_eq!(l.error_rate_pp, Some(0.5));
        assert_eq!(l.p99, Some(0.15));
        assert!(Limits::parse("p97=1%").is_err());
        assert!(Limits::parse("p95").is_err());
        assert!(Limits::parse("p95=fast").is_err());
        assert!(Limits::parse("p95=10").unwrap_err().contains("p95=10%"));
        assert!(Limits::parse("error-rate=1%").unwrap_err().contains("1pp"));
        assert!(Limits::parse("rps=150%")
            .unwrap_err()
            .contains("at most 100%"));
        assert!(Limits::parse("error-rate=101pp")
            .unwrap_err()
            .contains("at most 100pp"));
        assert_eq!(Limits::parse("p99=250%").unwrap().p99, Some(2.5));
    }

    #[test]
    fn judged_in_the_bad_direction_only() {
        assert!(judge(Metric::P95, 100.0, 111.0, 0.10));
        assert!(!judge(Metric::P95, 100.0, 50.0, 0.10));
        assert!(judge(Metric::Rps, 100.0, 94.0, 0.05));
        assert!(!judge(Metric::Rps, 100.0, 200.0, 0.05));
        assert!(judge(Metric::ErrorRate, 0.5, 1.6, 1.0));
        assert!(!judge(Metric::ErrorRate, 0.5, 1.4, 1.0));
    }
}
