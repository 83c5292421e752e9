//! How the target took each fault (`--at`): its figures while disturbed, how
//! long it took to come back, and the requests lost, from the per-second series.
//!
//! - **Baseline**: the measured seconds among the 30 before the fault (at least 3;
//!   `--recovery-baseline` sets the 30).
//! - **Band**: a second is within the baseline's band when its P99 is at most
//!   the larger of twice the baseline's median second and 1.5 times its worst,
//!   plus 5 ms (a millisecond service's scheduling jitter is not a fault), its
//!   error rate at most the baseline's worst second plus 0.1 percentage
//!   point, it dropped no more arrivals than the baseline's worst second, and
//!   requests completed in it (unless some baseline second had none).
//! - **Recovered**: at the first second from the fault's that opens 10 seconds
//!   in a row within the band (`--recovery-hold` sets the 10); recovery time is
//!   from the fault's second to it (0 when the fault never pushed the figures
//!   out of the band).
//! - **During**: the seconds from the fault's to recovery (to the run's end if
//!   it never recovered); **lost**: the requests that failed in them plus the
//!   arrivals dropped (open model).

use crate::faults::FaultEvent;
use crate::metrics::SecondPoint;
use serde::{Deserialize, Serialize};

/// Seconds before a fault that make its baseline, unless `--recovery-baseline`.
pub const BASELINE_SECS: u64 = 30;
/// Measured seconds a baseline needs.
pub const MIN_BASELINE: usize = 3;
/// Seconds in a row within the band that count as recovered, unless `--recovery-hold`.
pub const RECOVERED_SECS: u64 = 10;
/// P99 headroom over the baseline's, in microseconds.
pub const P99_HEADROOM_US: u64 = 5_000;
/// Error-rate headroom over the baseline's worst second.
pub const ERROR_HEADROOM: f64 = 0.001;

/// How much of the series the recovery of a fault is judged on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// Seconds before the fault whose measured seconds make the baseline.
    pub baseline_secs: u64,
    /// Seconds in a row back within the band that count as recovered.
    pub hold_secs: u64,
}

impl Default for Windows {
    fn default() -> Windows {
        Windows {
            baseline_secs: BASELINE_SECS,
            hold_secs: RECOVERED_SECS,
        }
    }
}

impl Windows {
    /// `--recovery-baseline` and `--recovery-hold` as given (whole seconds:
    /// `30s`, `2m`); an error names the flag and what it needs.
    pub fn parse(baseline: Option<&str>, hold: Option<&str>) -> Result<Windows, String> {
        let secs = |flag: &str, text: &str, min: u64| -> Result<u64, String> {
            let secs = crate::units::parse_secs(text).map_err(|e| {
                format!("{flag}: {e} (whole seconds: recovery is judged on the per-second series)")
            })?;
            if secs < min {
                return Err(format!("{flag}: '{text}' is too short: at least {min}s"));
            }
            Ok(secs)
        };
        let default = Windows::default();
        Ok(Windows {
            baseline_secs: baseline
                .map(|t| secs("--recovery-baseline", t, MIN_BASELINE as u64))
                .transpose()?
                .unwrap_or(default.baseline_secs),
            hold_secs: hold
                .map(|t| secs("--recovery-hold", t, 1))
                .transpose()?
                .unwrap_or(default.hold_secs),
        })
    }

    /// The windows a run's faults were judged with (the defaults when none
    /// had a baseline): every fault of a run shares them.
    pub fn of(faults: &[FaultReport]) -> Windows {
        faults
            .iter()
            .find_map(|f| f.recovery.as_ref())
            .map_or_else(Windows::default, |r| Windows {
                baseline_secs: r.baseline_window_secs,
                hold_secs: r.hold_secs,
            })
    }

    /// "10 s in a row back within the band of the 30 s before", for the reports.
    pub fn describe(&self) -> String {
        format!(
            "{} s in a row back within the band of the {} s before",
            self.hold_secs, self.baseline_secs
        )
    }
}

/// One fault: what ran, and how the target took it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    #[serde(flatten)]
    pub event: FaultEvent,
    /// `None` when it never ran or had no baseline (see `no_recovery`).
    pub recovery: Option<Recovery>,
    /// Why there is no recovery to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_recovery: Option<String>,
}

/// The band a fault's seconds are judged against, and what they did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// The window the baseline was taken from (seconds before the fault) and
    /// the seconds in a row within the band that counted as recovered
    /// (summaries from before these could be set read as 30 and 10).
    #[serde(default = "default_baseline_window")]
    pub baseline_window_secs: u64,
    #[serde(default = "default_hold")]
    pub hold_secs: u64,
    /// Measured seconds in the baseline window.
    pub baseline_seconds: u64,
    pub band_p99_us: u64,
    pub band_error_rate: f64,
    /// The first second at or after the fault outside the band (`None`: none
    /// before recovery: the fault did not show).
    pub disturbed_from: Option<u64>,
    /// The second the 10 seconds within the band began (`None`: not recovered
    /// by the run's end).
    pub recovered_at: Option<u64>,
    pub recovered_after_secs: Option<u64>,
    /// From the fault's second to recovery (or the run's end).
    pub during_secs: u64,
    pub during_requests: u64,
    pub during_failures: u64,
    pub during_error_rate: f64,
    /// The worst second's P99 in that time.
    pub during_p99_us: u64,
    pub during_dropped: u64,
    /// Failed requests plus dropped arrivals in that time.
    pub lost: u64,
}

fn default_baseline_window() -> u64 {
    BASELINE_SECS
}

fn default_hold() -> u64 {
    RECOVERED_SECS
}

struct Band {
    p99_us: u64,
    error_rate: f64,
    dropped: u64,
    allow_idle: bool,
}

fn error_rate(p: &SecondPoint) -> f64 {
    if p.requests == 0 {
        0.0
    } else {
        p.failures as f64 / p.requests as f64
    }
}

impl Band {
    fn of(baseline: &[&SecondPoint]) -> Band {
        let measured: Vec<&&SecondPoint> = baseline.iter().filter(|p| p.requests > 0).collect();
        let mut p99s: Vec<u64> = measured.iter().map(|p| p.p99_us).collect();
        p99s.sort_unstable();
        let median = p99s[p99s.len() / 2];
        let worst = *p99s.last().unwrap_or(&0);
        Band {
            p99_us: (worst.saturating_mul(3) / 2).max(median.saturating_mul(2)) + P99_HEADROOM_US,
            error_rate: measured.iter().map(|p| error_rate(p)).fold(0.0, f64::max) + ERROR_HEADROOM,
            dropped: baseline.iter().map(|p| p.dropped).max().unwrap_or(0),
            allow_idle: measured.len() < baseline.len(),
        }
    }

    fn holds(&self, p: &SecondPoint) -> bool {
        if p.requests == 0 {
            return self.allow_idle && p.dropped <= self.dropped;
        }
        p.p99_us <= self.p99_us && error_rate(p) <= self.error_rate && p.dropped <= self.dropped
    }
}

/// Each fault's report from the run's series.
pub fn reports(
    events: &[FaultEvent],
    series: &[SecondPoint],
    windows: Windows,
) -> Vec<FaultReport> {
    events
        .iter()
        .map(|event| {
            let (recovery, no_recovery) = match event.second() {
                None => (None, Some("it never ran".to_string())),
                Some(at) => match recovery(at, series, windows) {
                    Ok(r) => (Some(r), None),
                    Err(why) => (None, Some(why)),
                },
            };
            FaultReport {
                event: event.clone(),
                recovery,
                no_recovery,
            }
        })
        .collect()
}

/// How the seconds from `at` went against the band of the seconds before it.
pub fn recovery(at: u64, series: &[SecondPoint], windows: Windows) -> Result<Recovery, String> {
    let Windows {
        baseline_secs,
        hold_secs,
    } = windows;
    let baseline: Vec<&SecondPoint> = series
        .iter()
        .filter(|p| p.second < at && p.second + baseline_secs >= at)
        .collect();
    let measured = baseline.iter().filter(|p| p.requests > 0).count();
    if measured < MIN_BASELINE {
        return Err(format!(
            "no baseline: {measured} measured second(s) in the {baseline_secs} s before it, {MIN_BASELINE} needed"
        ));
    }
    let hold = hold_secs as usize;
    let band = Band::of(&baseline);
    let after: Vec<&SecondPoint> = series.iter().filter(|p| p.second >= at).collect();
    let within: Vec<bool> = after.iter().map(|p| band.holds(p)).collect();
    let back = (0..after.len())
        .find(|&i| i + hold <= after.len() && within[i..i + hold].iter().all(|w| *w));
    let during = &after[..back.unwrap_or(after.len())];
    let sum = |f: fn(&SecondPoint) -> u64| during.iter().map(|p| f(p)).sum::<u64>();
    let (requests, failures, dropped) =
        (sum(|p| p.requests), sum(|p| p.failures), sum(|p| p.dropped));
    let recovered_at = back.map(|i| after[i].second);
    Ok(Recovery {
        baseline_window_secs: baseline_secs,
        hold_secs,
        baseline_seconds: measured as u64,
        band_p99_us: band.p99_us,
        band_error_rate: band.error_rate,
        disturbed_from: during
            .iter()
            .zip(&within)
            .find(|(_, w)| !**w)
            .map(|(p, _)| p.second),
        recovered_at,
        recovered_after_secs: recovered_at.map(|s| s - at),
        during_secs: during.len() as u64,
        during_requests: requests,
        during_failures: failures,
        during_error_rate: if requests == 0 {
            0.0
        } else {
            failures as f64 / requests as f64
        },
        during_p99_us: during.iter().map(|p| p.p99_us).max().unwrap_or(0),
        during_dropped: dropped,
        lost: failures + dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorded series: (requests, failures, p99 in ms) per second from 0.
    fn recorded(seconds: &[(u64, u64, u64)]) -> Vec<SecondPoint> {
        seconds
            .iter()
            .enumerate()
            .map(|(i, &(requests, failures, p99_ms))| SecondPoint {
                second: i as u64,
                requests,
                failures,
                p99_us: p99_ms * 1_000,
                ..Default::default()
            })
            .collect()
    }

    /// 20 calm seconds (100 req/s, P99 10-14 ms), then `then`, then `calm_after` calm seconds.
    fn around(then: &[(u64, u64, u64)], calm_after: usize) -> Vec<SecondPoint> {
        let calm = |i: usize| (100, 0, 10 + (i % 5) as u64);
        let mut s: Vec<_> = (0..20).map(calm).collect();
        s.extend_from_slice(then);
        s.extend((0..calm_after).map(calm));
        recorded(&s)
    }

    #[test]
    fn a_cache_outage_recovers_when_ten_seconds_are_back_in_the_band() {
        // Fault at 20: 3 s of errors and slow answers, then calm.
        let series = around(&[(80, 40, 900), (50, 50, 2_000), (90, 5, 30)], 15);
        let r = recovery(20, &series, Windows::default()).unwrap();
        assert_eq!(r.baseline_seconds, 20);
        assert_eq!(
            r.band_p99_us, 29_000,
            "twice the median second (12 ms), plus 5 ms"
        );
        assert_eq!((r.disturbed_from, r.recovered_at), (Some(20), Some(23)));
        assert_eq!(r.recovered_after_secs, Some(3));
        assert_eq!(
            (r.during_secs, r.during_requests, r.during_failures),
            (3, 220, 95)
        );
        assert_eq!((r.during_p99_us, r.lost), (2_000_000, 95));
    }

    #[test]
    fn a_fault_that_never_shows_recovers_at_once() {
        let series = around(&[], 12);
        let r = recovery(20, &series, Windows::default()).unwrap();
        assert_eq!(
            (r.disturbed_from, r.recovered_after_secs, r.lost),
            (None, Some(0), 0)
        );
    }

    #[test]
    fn no_recovery_when_the_run_ends_first_or_a_dead_second_breaks_the_stretch() {
        // Back in the band for only 9 seconds before the end.
        let r = recovery(20, &around(&[(10, 10, 5_000)], 9), Windows::default()).unwrap();
        assert_eq!((r.recovered_at, r.during_secs, r.lost), (None, 10, 10));
        // A second with no answers at all is out of the band.
        let mut s = around(&[(0, 0, 0)], 15);
        s[25].requests = 0;
        let r = recovery(20, &s, Windows::default()).unwrap();
        assert_eq!(r.recovered_at, Some(26));
    }

    #[test]
    fn a_fault_needs_a_baseline() {
        let series = recorded(&[(100, 0, 10), (100, 0, 10), (0, 0, 0)]);
        let err = recovery(2, &series, Windows::default()).unwrap_err();
        assert!(err.contains("2 measured second(s)"), "{err}");
        let events = [
            FaultEvent {
                started_secs: Some(20.4),
                ..Default::default()
            },
            FaultEvent::default(),
        ];
        let reports = reports(&events, &around(&[], 10), Windows::default());
        assert_eq!(
            reports[0].recovery.as_ref().unwrap().recovered_after_secs,
            Some(0)
        );
        assert_eq!(reports[1].no_recovery.as_deref(), Some("it never ran"));
    }

    #[test]
    fn the_hold_and_the_baseline_window_are_settable() {
        // Back in the band from 21 for 5 seconds, out at 26, then calm for good.
        let mut then = vec![(80, 40, 900)];
        then.extend([(100, 0, 10); 5]);
        then.push((50, 50, 2_000));
        let series = around(&then, 12);
        let default = recovery(20, &series, Windows::default()).unwrap();
        assert_eq!(default.recovered_at, Some(27), "10 s in a row only from 27");
        assert_eq!((default.hold_secs, default.baseline_window_secs), (10, 30));
        let short = Windows {
            hold_secs: 5,
            ..Windows::default()
        };
        let r = recovery(20, &series, short).unwrap();
        assert_eq!(
            (r.recovered_at, r.recovered_after_secs),
            (Some(21), Some(1))
        );
        assert_eq!(r.hold_secs, 5);
        // A 4 s baseline window holds 4 measured seconds, a 2 s one too few.
        let narrow = Windows {
            baseline_secs: 4,
            ..Windows::default()
        };
        assert_eq!(recovery(20, &series, narrow).unwrap().baseline_seconds, 4);
        let err = recovery(
            20,
            &series,
            Windows {
                baseline_secs: 2,
                ..narrow
            },
        )
        .unwrap_err();
        assert!(err.contains("in the 2 s before it"), "{err}");
    }

    #[test]
    fn the_flags_take_whole_seconds() {
        assert_eq!(Windows::parse(None, None).unwrap(), Windows::default());
        let w = Windows::parse(Some("1m"), Some("5s")).unwrap();
        assert_eq!((w.baseline_secs, w.hold_secs), (60, 5));
        for (baseline, hold, wanted) in [
            (
                Some("2s"),
                None,
                "--recovery-baseline: '2s' is too short: at least 3s",
            ),
            (
                None,
                Some("0s"),
                "--recovery-hold: '0s' is too short: at least 1s",
            ),
            (None, Some("500ms"), "--recovery-hold: duration '500ms'"),
            (None, Some("1.5s"), "--recovery-hold: duration '1.5s'"),
            (None, Some("ten"), "--recovery-hold: duration 'ten'"),
        ] {
            let err = Windows::parse(baseline, hold).unwrap_err();
            assert!(err.starts_with(wanted), "{err}");
        }
        assert!(Windows::parse(None, Some("1.5s"))
            .unwrap_err()
            .contains("whole seconds"));
    }
}
