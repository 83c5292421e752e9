//! Rules with a window (`error-rate<1% for 30s`, `--abort-when 'p95>5s for 30s'`):
//! judged on each second's own figures in the per-second series, so a run, a
//! re-check of its summary.json and the live judge all agree. A breach is a
//! stretch of that many consecutive seconds, each one on the wrong side.
//!
//! A rule naming a request (`p95<300ms for 30s for GET /books/{id}`) is judged
//! on that request's own series, which the aggregator keeps for it.
//!
//! A second in which no request completed says nothing either way: it neither
//! lengthens nor ends a stretch (a pause in the load is not a recovery; a
//! stalled target's requests count when they time out or fail).

use super::rule::{Metric, Rule, RuleResult};
use crate::metrics::{RequestSeries, SecondPoint};
use crate::units::fmt_secs;

/// Consecutive seconds (with requests) on the wrong side of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Stretch {
    pub first: u64,
    pub last: u64,
    /// Seconds with requests in it (empty seconds inside are not counted).
    pub seconds: u64,
    /// The figure of its last second.
    pub last_value: f64,
}

/// One second's figure for a windowed rule (`None`: no request completed in
/// it, or the series does not carry the metric).
pub fn per_second(metric: Metric, p: &SecondPoint) -> Option<f64> {
    if p.requests == 0 {
        return None;
    }
    Some(match metric {
        Metric::Percentile(50.0) => p.p50_us as f64,
        Metric::Percentile(95.0) => p.p95_us as f64,
        Metric::Percentile(99.0) => p.p99_us as f64,
        Metric::Avg => p.mean_us,
        Metric::Max => p.max_us as f64,
        Metric::ErrorRate => p.failures as f64 / p.requests as f64,
        Metric::Rps => p.requests as f64,
        _ => return None,
    })
}

/// The series a windowed rule is judged on: every request's, or the one kept
/// for the request it names (`None`: none was kept).
pub fn series_for<'a>(
    rule: &Rule,
    all: &'a [SecondPoint],
    per_request: &'a [RequestSeries],
) -> Option<&'a [SecondPoint]> {
    match &rule.name {
        None => Some(all),
        Some(name) => RequestSeries::find(per_request, rule.method.as_deref(), name)
            .map(|s| s.points.as_slice()),
    }
}

/// Every stretch of seconds whose figure is `wrong`, in order.
fn stretches(rule: &Rule, series: &[SecondPoint], wrong: impl Fn(f64) -> bool) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    let mut open = false;
    for p in series {
        let Some(v) = per_second(rule.metric, p) else {
            continue;
        };
        if !wrong(v) {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(s) if open => {
                s.last = p.second;
                s.seconds += 1;
                s.last_value = v;
            }
            _ => out.push(Stretch {
                first: p.second,
                last: p.second,
                seconds: 1,
                last_value: v,
            }),
        }
        open = true;
    }
    out
}

/// A threshold with a window, over a whole run: it fails when the rule was
/// broken for `window` seconds in a row. `observed` is the longest stretch, in
/// seconds.
pub fn judge(rule: &Rule, window: u64, series: &[SecondPoint]) -> RuleResult {
    let all = stretches(rule, series, |v| !rule.holds(v));
    let measured = series.iter().any(|p| p.requests > 0);
    let longest = all.iter().max_by_key(|s| s.seconds);
    let observed = measured.then(|| longest.map_or(0, |s| s.seconds));
    let breach = all.iter().find(|s| s.seconds >= window);
    RuleResult {
        rule: rule.text.clone(),
        observed: observed.map(|s| s as f64),
        // Short, for the verdict table: the breach, or the longest stretch broken.
        observed_text: match (breach, longest) {
            _ if !measured => "no samples".into(),
            (Some(b), _) => format!("{} from {}", fmt_secs(b.seconds), fmt_secs(b.first)),
            (None, Some(l)) => format!("longest {}", fmt_secs(l.seconds)),
            (None, None) => "longest 0s".into(),
        },
        limit_text: format!("{} for {}", rule.format(rule.limit), fmt_secs(window)),
        passed: measured && breach.is_none(),
    }
}

/// The stretch ending at the series' last measured second, once it is `window`
/// seconds long; `held` says whether the rule held in the stretch's seconds
/// (an abort rule fires when its condition held, a threshold when it did not).
pub fn trailing(rule: &Rule, window: u64, series: &[SecondPoint], held: bool) -> Option<Stretch> {
    let mut stretch: Option<Stretch> = None;
    for p in series.iter().rev() {
        let Some(v) = per_second(rule.metric, p) else {
            continue;
        };
        if rule.holds(v) != held {
            break;
        }
        let s = stretch.get_or_insert(Stretch {
            first: p.second,
            last: p.second,
            seconds: 0,
            last_value: v,
        });
        s.first = p.second;
        s.seconds += 1;
        if s.seconds >= window {
            return stretch;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds 0.. with these error percentages (100 requests each; `None`: idle).
    fn series(errors: &[Option<u64>]) -> Vec<SecondPoint> {
        errors
            .iter()
            .enumerate()
            .map(|(i, e)| SecondPoint {
                second: i as u64,
                requests: if e.is_some() { 100 } else { 0 },
                failures: e.unwrap_or(0),
                p99_us: 1_000 * e.unwrap_or(0),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn a_threshold_fails_only_on_a_stretch_as_long_as_its_window() {
        let rule = Rule::parse("error-rate<5% for 3s").unwrap();
        let brief = series(&[Some(0), Some(50), Some(50), Some(0), Some(50)]);
        let r = judge(&rule, 3, &brief);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.observed, Some(2.0));
        assert_eq!(r.observed_text, "longest 2s");
        let long = series(&[Some(0), Some(50), Some(60), Some(70), Some(0)]);
        let r = judge(&rule, 3, &long);
        assert!(!r.passed);
        assert_eq!(r.observed_text, "3s from 1s");
        assert_eq!(r.limit_text, "5.00% for 3s");
    }

    #[test]
    fn idle_seconds_neither_lengthen_nor_end_a_stretch() {
        let rule = Rule::parse("error-rate<5% for 3s").unwrap();
        let s = series(&[Some(50), None, None, Some(50), Some(50), None]);
        assert!(!judge(&rule, 3, &s).passed);
        let s = series(&[Some(50), None, Some(50), None]);
        assert!(judge(&rule, 3, &s).passed);
        assert_eq!(judge(&rule, 3, &series(&[None, None])).observed, None);
    }

    #[test]
    fn the_trailing_stretch_fires_when_its_window_fills() {
        let rule = Rule::parse("p99>20ms for 3s").unwrap();
        let mut s = series(&[Some(0), Some(30), Some(30)]);
        assert_eq!(trailing(&rule, 3, &s, true), None);
        s.extend(series(&[Some(0), Some(0), Some(0), Some(40)]).split_off(3));
        let fired = trailing(&rule, 3, &s, true).unwrap();
        assert_eq!((fired.first, fired.last, fired.seconds), (1, 3, 3));
        assert_eq!(fired.last_value, 40_000.0);
        // A good second ends the stretch: the window fills again from there.
        s.extend(series(&[Some(0), Some(0), Some(0), Some(0), Some(1)]).split_off(4));
        assert_eq!(trailing(&rule, 3, &s, true), None);
        assert_eq!(trailing(&rule, 1, &s, false).unwrap().first, 4);
    }

    #[test]
    fn the_series_carries_only_some_figures_per_second() {
        assert!(!Metric::Percentile(99.9).per_second());
        assert!(!Metric::Min.per_second());
        assert!(Metric::Percentile(95.0).per_second());
        let idle = SecondPoint::default();
        assert_eq!(per_second(Metric::Percentile(95.0), &idle), None);
    }
}
