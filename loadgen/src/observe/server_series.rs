//! The target's own metrics over the run, as `--scrape` read them: one series
//! per metric, target and label set, a value per second, and each target's
//! record of answered and failed scrapes. Written to summary.json as `server`.

use super::prom_text::{Exposition, Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// At most this many series are kept per target; more are counted, not kept.
pub const MAX_SERIES_PER_TARGET: usize = 64;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerMetrics {
    pub targets: Vec<ScrapeTarget>,
    pub series: Vec<ServerSeries>,
}

/// One `--scrape` URL and how it answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScrapeTarget {
    pub url: String,
    /// Scrapes answered and parsed.
    pub scrapes: u64,
    /// Scrapes that failed (no answer in time, an error status, a bad body).
    pub failures: u64,
    /// Stretches of consecutive failed scrapes: from which second to which, and the first error.
    #[serde(default)]
    pub outages: Vec<ScrapeOutage>,
    /// Metrics asked for that this target never exposed.
    #[serde(default)]
    pub missing: Vec<String>,
    /// Series not kept because the target had more than `MAX_SERIES_PER_TARGET`.
    #[serde(default)]
    pub series_dropped: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrapeOutage {
    pub from_second: u64,
    pub to_second: u64,
    pub error: String,
}

/// What each point of a series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// A gauge's value at the end of the second.
    Gauge,
    /// A counter's increase per second since the scrape before.
    Rate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerSeries {
    pub metric: String,
    /// The `--scrape` URL it came from.
    pub target: String,
    pub labels: BTreeMap<String, String>,
    pub kind: SeriesKind,
    /// `[second, value]`, for the seconds whose scrape answered.
    pub points: Vec<(u64, f64)>,
}

impl ServerSeries {
    /// `http_requests_shed_total/s {dependency="db"}` for legends.
    pub fn label(&self) -> String {
        let unit = if self.kind == SeriesKind::Rate {
            "/s"
        } else {
            ""
        };
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        if labels.is_empty() {
            format!("{}{unit}", self.metric)
        } else {
            format!("{}{unit} {{{}}}", self.metric, labels.join(","))
        }
    }

    /// A legend entry short enough for a chart titled with the metric: the
    /// instance when the chart mixes targets, then the label values
    /// (`127.0.0.1:8081 database`); the metric's name when both are absent.
    pub fn short_label(&self, with_instance: bool) -> String {
        let mut parts: Vec<String> = Vec::new();
        if with_instance {
            parts.push(self.instance());
        }
        parts.extend(self.labels.values().cloned());
        if parts.is_empty() {
            self.metric.clone()
        } else {
            parts.join(" ")
        }
    }

    /// The target's host:port, for legends that mix targets.
    pub fn instance(&self) -> String {
        reqwest::Url::parse(&self.target)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| self.target.clone())
    }
}

type SeriesKey = (String, BTreeMap<String, String>);

/// One target's recorder: keeps the previous counter values for rates.
pub struct TargetRecorder {
    target: ScrapeTarget,
    wanted: Vec<String>,
    series: BTreeMap<SeriesKey, ServerSeries>,
    previous: Option<(Instant, BTreeMap<SeriesKey, f64>)>,
    seen: std::collections::BTreeSet<String>,
    /// The last scrape failed: the next failure extends its outage.
    in_outage: bool,
}

impl TargetRecorder {
    pub fn new(url: &str, wanted: &[String]) -> TargetRecorder {
        TargetRecorder {
            target: ScrapeTarget {
                url: url.to_string(),
                ..Default::default()
            },
            wanted: wanted.to_vec(),
            series: BTreeMap::new(),
            previous: None,
            seen: Default::default(),
            in_outage: false,
        }
    }

    /// A scrape answered at `at`, for `second`.
    pub fn answered(&mut self, second: u64, at: Instant, exposition: &Exposition) {
        self.target.scrapes += 1;
        self.in_outage = false;
        let mut values = BTreeMap::new();
        for s in &exposition.samples {
            if !self.wanted.contains(&s.name) || !s.value.is_finite() {
                continue;
            }
            self.seen.insert(s.name.clone());
            values.insert((s.name.clone(), s.labels.clone()), s.value);
        }
        let since = self.previous.as_ref().map(|(t, v)| (at - *t, v));
        for (key, value) in &values {
            let kind = match exposition.kind_of(&key.0) {
                Kind::Counter | Kind::Histogram | Kind::Summary => SeriesKind::Rate,
                Kind::Gauge => SeriesKind::Gauge,
                Kind::Untyped if key.0.ends_with("_total") => SeriesKind::Rate,
                Kind::Untyped => SeriesKind::Gauge,
            };
            let point = match kind {
                SeriesKind::Gauge => Some(*value),
                SeriesKind::Rate => since.and_then(|(dt, before)| {
                    let before = before.get(key)?;
                    // A counter that went down was reset (the target restarted).
                    let increase = if value >= before {
                        value - before
                    } else {
                        *value
                    };
                    (dt.as_secs_f64() > 0.0).then(|| increase / dt.as_secs_f64())
                }),
            };
            let Some(point) = point else { continue };
            if !self.series.contains_key(key) && self.series.len() >= MAX_SERIES_PER_TARGET {
                self.target.series_dropped += 1;
                continue;
            }
            let target = &self.target.url;
            self.series
                .entry(key.clone())
                .or_insert_with(|| ServerSeries {
                    metric: key.0.clone(),
                    target: target.clone(),
                    labels: key.1.clone(),
                    kind,
                    points: Vec::new(),
                })
                .points
                .push((second, point));
        }
        self.previous = Some((at, values));
    }

    /// A scrape failed for `second`. Returns true when it starts an outage
    /// (the first failure after an answer), for the one line that says so.
    pub fn failed(&mut self, second: u64, error: String) -> bool {
        self.target.failures += 1;
        // Rates resume from the next two answers, not across the gap.
        self.previous = None;
        let in_outage = std::mem::replace(&mut self.in_outage, true);
        match self.target.outages.last_mut() {
            Some(o) if in_outage => {
                o.to_second = second;
                false
            }
            _ => {
                self.target.outages.push(ScrapeOutage {
                    from_second: second,
                    to_second: second,
                    error,
                });
                true
            }
        }
    }

    pub fn finish(mut self) -> (ScrapeTarget, Vec<ServerSeries>) {
        self.target.missing = self
            .wanted
            .iter()
            .filter(|m| !self.seen.contains(*m))
            .cloned()
            .collect();
        (self.target, self.series.into_values().collect())
    }

    /// What is recorded so far (for the dashboard).
    pub fn series(&self) -> impl Iterator<Item = &ServerSeries> {
        self.series.values()
    }
}

#[cfg(test)]
mod tests {
    use super::super::prom_text::parse;
    use super::*;
    use std::time::Duration;

    fn text(in_flight: u64, shed: u64) -> Exposition {
        parse(&format!(
            "# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight {in_flight}\n\
             # TYPE http_requests_shed_total counter\nhttp_requests_shed_total {shed}\n\
             # TYPE other gauge\nother 1\n\
             circuit_breaker_open{{dependency=\"db\"}} 1\n"
        ))
        .unwrap()
    }

    #[test]
    fn gauges_are_values_counters_become_rates_resets_and_outages_are_noted() {
        let wanted: Vec<String> = [
            "http_requests_in_flight",
            "http_requests_shed_total",
            "circuit_breaker_open",
            "db_pool_connections",
        ]
        .map(String::from)
        .to_vec();
        let mut r = TargetRecorder::new("http://127.0.0.1:1/metrics", &wanted);
        let t0 = Instant::now();
        r.answered(0, t0, &text(5, 100));
        r.answered(1, t0 + Duration::from_millis(500), &text(7, 150));
        assert!(r.failed(2, "connection refused".into()));
        assert!(!r.failed(3, "connection refused".into()));
        r.answered(4, t0 + Duration::from_secs(4), &text(9, 10));
        r.answered(5, t0 + Duration::from_secs(5), &text(9, 4));
        let (target, series) = r.finish();
        let find = |m: &str| series.iter().find(|s| s.metric == m).unwrap();
        assert_eq!(
            find("http_requests_in_flight").points,
            vec![(0, 5.0), (1, 7.0), (4, 9.0), (5, 9.0)]
        );
        let shed = find("http_requests_shed_total");
        assert_eq!(shed.kind, SeriesKind::Rate);
        // 50 more in half a second; none across the outage; a reset counts from zero.
        assert_eq!(shed.points, vec![(1, 100.0), (5, 4.0)]);
        assert_eq!(shed.label(), "http_requests_shed_total/s");
        assert_eq!(
            find("circuit_breaker_open").label(),
            "circuit_breaker_open {dependency=\"db\"}"
        );
        assert_eq!(find("circuit_breaker_open").instance(), "127.0.0.1:1");
        assert_eq!(
            find("circuit_breaker_open").short_label(true),
            "127.0.0.1:1 db"
        );
        assert_eq!(shed.short_label(false), "http_requests_shed_total");
        assert!(series.iter().all(|s| s.metric != "other"));
        assert_eq!((target.scrapes, target.failures), (4, 2));
        assert_eq!(
            target.outages,
            vec![ScrapeOutage {
                from_second: 2,
                to_second: 3,
                error: "connection refused".into()
            }]
        );
        assert_eq!(target.missing, vec!["db_pool_connections".to_string()]);
    }
}
