//! The generator checking itself: how late it starts work against its
//! schedule (HDR, microseconds), how much CPU it used of what it may use, and,
//! in the open model, the arrivals it queued or dropped. A run whose generator
//! fell behind is marked `generator_bound`: its figures understate latency.

use super::hdr;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Start lag P99 above which a run is generator-bound.
pub const MAX_LAG_P99_US: u64 = 10_000;
/// CPU, as a share of what the process may use, above which a second is "busy".
pub const BUSY_CPU: f64 = 0.90;
/// A run is generator-bound when more than this share of its seconds were busy
/// (and at least `MIN_BUSY_SECONDS` of them).
pub const BUSY_SHARE: f64 = 0.10;
pub const MIN_BUSY_SECONDS: u64 = 3;

/// Intervals shorter than this get no CPU share.
const MIN_CPU_SECS: f64 = 0.5;

/// Counts as the run goes; drained every second.
pub struct GeneratorMeter {
    lag_us: Mutex<Option<Histogram<u64>>>,
    arrivals: AtomicU64,
    dropped: AtomicU64,
    /// Arrivals waiting now, and the most at once since the last drain.
    queued: AtomicU64,
    queued_peak: AtomicU64,
    /// CPU time and wall time at the last drain.
    last_drain: Mutex<(Duration, std::time::Instant)>,
    cores: f64,
}

impl Default for GeneratorMeter {
    fn default() -> Self {
        GeneratorMeter {
            lag_us: Mutex::new(None),
            arrivals: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            queued_peak: AtomicU64::new(0),
            last_drain: Mutex::new((process_cpu(), std::time::Instant::now())),
            cores: std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
        }
    }
}

/// This process's CPU time so far (all threads, user and system).
pub fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

impl GeneratorMeter {
    /// Work due at some moment started `lag_us` late.
    pub fn started_late(&self, lag_us: u64) {
        let mut h = self.lag_us.lock().unwrap_or_else(|p| p.into_inner());
        hdr::record_clamped(h.get_or_insert_with(hdr::new_histogram), lag_us);
    }

    /// An arrival was due (open model).
    pub fn arrival(&self) {
        self.arrivals.fetch_add(1, Ordering::Relaxed);
    }

    /// An arrival found no free user and no room to wait: it was not run.
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Arrivals waiting for a free user now.
    pub fn set_queued(&self, n: u64) {
        self.queued.store(n, Ordering::Relaxed);
        self.queued_peak.fetch_max(n, Ordering::Relaxed);
    }

    /// What happened since the last drain.
    pub fn drain(&self) -> GeneratorStats {
        let (cpu_now, now) = (process_cpu(), std::time::Instant::now());
        let (used, secs) = {
            let mut last = self.last_drain.lock().unwrap_or_else(|p| p.into_inner());
            let used = cpu_now.saturating_sub(last.0);
            let secs = now.duration_since(last.1).as_secs_f64();
            *last = (cpu_now, now);
            (used, secs)
        };
        let lag_us = self
            .lag_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(hdr::new_histogram);
        GeneratorStats {
            lag_us,
            arrivals: self.arrivals.swap(0, Ordering::Relaxed),
            dropped: self.dropped.swap(0, Ordering::Relaxed),
            queued: self
                .queued_peak
                .swap(self.queued.load(Ordering::Relaxed), Ordering::Relaxed),
            // CPU time is accounted in scheduler ticks: a share over a few
            // milliseconds (the last, partial second) says nothing.
            cpu: if secs >= MIN_CPU_SECS {
                used.as_secs_f64() / (secs * self.cores)
            } else {
                0.0
            },
        }
    }
}

/// One interval of one generator (or the busiest of several, for `cpu`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StatsWire", try_from = "StatsWire")]
pub struct GeneratorStats {
    /// How late work started against its schedule, in microseconds.
    pub lag_us: Histogram<u64>,
    /// Arrivals due (open model).
    pub arrivals: u64,
    /// Arrivals dropped: no free user and the queue full.
    pub dropped: u64,
    /// The most arrivals waiting for a free user at once during the interval.
    pub queued: u64,
    /// CPU used, as a share of what the process may use (1.0 = every core).
    pub cpu: f64,
}

impl Default for GeneratorStats {
    fn default() -> Self {
        GeneratorStats {
            lag_us: hdr::new_histogram(),
            arrivals: 0,
            dropped: 0,
            queued: 0,
            cpu: 0.0,
        }
    }
}

impl GeneratorStats {
    /// Adds another generator's same interval: counts add, CPU is the busiest's.
    pub fn merge(&mut self, other: &GeneratorStats) {
        self.lag_us
            .add(&other.lag_us)
            .expect("histograms share bounds");
        self.arrivals += other.arrivals;
        self.dropped += other.dropped;
        self.queued += other.queued;
        self.cpu = self.cpu.max(other.cpu);
    }
}

#[derive(Serialize, Deserialize)]
struct StatsWire {
    lag_hdr: String,
    arrivals: u64,
    dropped: u64,
    queued: u64,
    cpu: f64,
}

impl From<GeneratorStats> for StatsWire {
    fn from(s: GeneratorStats) -> Self {
        StatsWire {
            lag_hdr: hdr::to_base64(&s.lag_us),
            arrivals: s.arrivals,
            dropped: s.dropped,
            queued: s.queued,
            cpu: s.cpu,
        }
    }
}

impl TryFrom<StatsWire> for GeneratorStats {
    type Error = String;
    fn try_from(w: StatsWire) -> Result<Self, String> {
        if !w.cpu.is_finite() || w.cpu < 0.0 {
            return Err(format!("cpu share {} is not a share", w.cpu));
        }
        Ok(GeneratorStats {
            lag_us: hdr::from_base64(&w.lag_hdr)?,
            arrivals: w.arrivals,
            dropped: w.dropped,
            queued: w.queued,
            cpu: w.cpu,
        })
    }
}

/// The run so far, as the verdict and summary.json see it.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorTotals {
    pub lag_us: Histogram<u64>,
    pub arrivals: u64,
    pub dropped: u64,
    pub max_queued: u64,
    pub seconds: u64,
    /// Seconds whose CPU share was above `BUSY_CPU`.
    pub busy_seconds: u64,
    pub max_cpu: f64,
}

impl Default for GeneratorTotals {
    fn default() -> Self {
        GeneratorTotals {
            lag_us: hdr::new_histogram(),
            arrivals: 0,
            dropped: 0,
            max_queued: 0,
            seconds: 0,
            busy_seconds: 0,
            max_cpu: 0.0,
        }
    }
}

impl GeneratorTotals {
    pub fn add(&mut self, s: &GeneratorStats) {
        self.lag_us.add(&s.lag_us).expect("histograms share bounds");
        self.arrivals += s.arrivals;
        self.dropped += s.dropped;
        self.max_queued = self.max_queued.max(s.queued);
        self.seconds += 1;
        self.busy_seconds += u64::from(s.cpu > BUSY_CPU);
        self.max_cpu = self.max_cpu.max(s.cpu);
    }

    /// Why the generator could not keep its figures honest, if it could not.
    pub fn bound_reasons(&self) -> Vec<String> {
        let mut why = Vec::new();
        let p99 = hdr::percentile(&self.lag_us, 99.0);
        if p99 > MAX_LAG_P99_US {
            why.push(format!(
                "it started work late: start lag P99 {} ms (limit {} ms)",
                p99 / 1_000,
                MAX_LAG_P99_US / 1_000
            ));
        }
        let share = self.busy_seconds as f64 / self.seconds.max(1) as f64;
        if self.busy_seconds >= MIN_BUSY_SECONDS && share > BUSY_SHARE {
            why.push(format!(
                "its CPU was above {:.0}% of what it may use in {} of {} seconds",
                BUSY_CPU * 100.0,
                self.busy_seconds,
                self.seconds
            ));
        }
        why
    }
}

/// The generator's self-check as summary.json reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorFigures {
    /// Why it could not keep its figures honest (empty: it could).
    pub bound_by: Vec<String>,
    /// How late it started work against its schedule: open-model arrivals
    /// handed to users, or (closed model) a 10 ms wake-up probe.
    pub start_lag_p50_us: u64,
    pub start_lag_p99_us: u64,
    pub start_lag_max_us: u64,
    /// The most CPU it used in a second, as a share of what it may use.
    pub cpu_max: f64,
    /// Seconds above 90% of that.
    pub busy_seconds: u64,
    /// Open model: arrivals due, dropped (no free user, queue full, or still
    /// waiting when the plan ended), and the most waiting at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queued: Option<u64>,
}

impl GeneratorFigures {
    pub fn of(t: &GeneratorTotals, open: bool) -> GeneratorFigures {
        let lag = &t.lag_us;
        GeneratorFigures {
            bound_by: t.bound_reasons(),
            start_lag_p50_us: hdr::percentile(lag, 50.0),
            start_lag_p99_us: hdr::percentile(lag, 99.0),
            start_lag_max_us: hdr::percentile(lag, 100.0),
            cpu_max: t.max_cpu,
            busy_seconds: t.busy_seconds,
            arrivals: open.then_some(t.arrivals),
            dropped: open.then_some(t.dropped),
            max_queued: open.then_some(t.max_queued),
        }
    }

    pub fn bound(&self) -> bool {
        !self.bound_by.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_drains_lag_counts_and_cpu() {
        let m = GeneratorMeter::default();
        m.started_late(500);
        m.arrival();
        m.arrival();
        m.dropped();
        m.set_queued(9);
        m.set_queued(7);
        // Burn some CPU so the share is above zero.
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_millis(600) {}
        let s = m.drain();
        assert_eq!(
            (s.lag_us.len(), s.arrivals, s.dropped, s.queued),
            (1, 2, 1, 9)
        );
        assert!(s.cpu > 0.0, "{}", s.cpu);
        let again = m.drain();
        assert_eq!(
            (again.lag_us.len(), again.arrivals, again.queued),
            (0, 0, 7)
        );
    }

    #[test]
    fn a_generator_is_bound_when_late_or_busy() {
        let quiet = GeneratorStats {
            cpu: 0.3,
            ..GeneratorStats::default()
        };
        let mut t = GeneratorTotals::default();
        for _ in 0..100 {
            t.add(&quiet);
        }
        assert!(t.bound_reasons().is_empty());
        let mut late = GeneratorStats::default();
        late.lag_us.record(50_000).unwrap();
        t.add(&late);
        assert!(t.bound_reasons()[0].contains("start lag P99 50 ms"));
        let mut busy = GeneratorTotals::default();
        for i in 0..20 {
            busy.add(&GeneratorStats {
                cpu: if i % 2 == 0 { 0.97 } else { 0.2 },
                ..GeneratorStats::default()
            });
        }
        assert!(busy.bound_reasons()[0].contains("10 of 20 seconds"));
    }

    #[test]
    fn stats_merge_and_travel() {
        let mut a = GeneratorStats {
            arrivals: 3,
            cpu: 0.5,
            ..GeneratorStats::default()
        };
        let b = GeneratorStats {
            arrivals: 4,
            dropped: 1,
            cpu: 0.8,
            ..GeneratorStats::default()
        };
        a.merge(&b);
        assert_eq!((a.arrivals, a.dropped, a.cpu), (7, 1, 0.8));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<GeneratorStats>(&json).unwrap(), a);
    }
}
