//! The connections virtual users hold: open now, opened and failed to open per
//! interval, and how long each connect took (HDR, microseconds).

use super::hdr;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counts connections as users open and close them; drained every second.
#[derive(Default)]
pub struct ConnectionMeter {
    open: AtomicU64,
    opened: AtomicU64,
    failed: AtomicU64,
    connect_us: Mutex<Option<Histogram<u64>>>,
}

impl ConnectionMeter {
    /// A connection was made in `connect_us` microseconds.
    pub fn opened(&self, connect_us: u64) {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.opened.fetch_add(1, Ordering::Relaxed);
        let mut hist = self.connect_us.lock().unwrap_or_else(|p| p.into_inner());
        hdr::record_clamped(hist.get_or_insert_with(hdr::new_histogram), connect_us);
    }

    /// A connect failed (refused, timed out, no route).
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was closed (by either side).
    pub fn closed(&self) {
        let _ = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn open_now(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// What happened since the last drain, and the connections open now.
    pub fn drain(&self) -> ConnectionStats {
        let hist = self
            .connect_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        ConnectionStats {
            open: self.open_now(),
            opened: self.opened.swap(0, Ordering::Relaxed),
            failed: self.failed.swap(0, Ordering::Relaxed),
            connect_us: hist.unwrap_or_else(hdr::new_histogram),
        }
    }
}

/// One interval's connections (of one process, or merged across workers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StatsWire", try_from = "StatsWire")]
pub struct ConnectionStats {
    /// Open at the end of the interval.
    pub open: u64,
    /// Opened during it.
    pub opened: u64,
    /// Connect attempts that failed during it.
    pub failed: u64,
    /// Connect times of the connections opened during it.
    pub connect_us: Histogram<u64>,
}

impl Default for ConnectionStats {
    fn default() -> Self {
        ConnectionStats {
            open: 0,
            opened: 0,
            failed: 0,
            connect_us: hdr::new_histogram(),
        }
    }
}

impl ConnectionStats {
    /// Adds another process's same interval: its open connections count too.
    pub fn merge(&mut self, other: &ConnectionStats) {
        self.open += other.open;
        self.opened += other.opened;
        self.failed += other.failed;
        self.connect_us
            .add(&other.connect_us)
            .expect("histograms share bounds");
    }
}

#[derive(Serialize, Deserialize)]
struct StatsWire {
    open: u64,
    opened: u64,
    failed: u64,
    connect_hdr: String,
}

impl From<ConnectionStats> for StatsWire {
    fn from(s: ConnectionStats) -> Self {
        StatsWire {
            open: s.open,
            opened: s.opened,
            failed: s.failed,
            connect_hdr: hdr::to_base64(&s.connect_us),
        }
    }
}

impl TryFrom<StatsWire> for ConnectionStats {
    type Error = String;
    fn try_from(w: StatsWire) -> Result<Self, String> {
        let connect_us = hdr::from_base64(&w.connect_hdr)?;
        if connect_us.len() != w.opened {
            return Err(format!(
                "connect histogram holds {} samples but opened says {}",
                connect_us.len(),
                w.opened
            ));
        }
        Ok(ConnectionStats {
            open: w.open,
            opened: w.opened,
            failed: w.failed,
            connect_us,
        })
    }
}

/// The run's connections so far: what summary.json reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionTotals {
    /// Most connections open at the end of any second.
    pub peak_open: u64,
    pub opened: u64,
    pub failed: u64,
    pub connect_us: Histogram<u64>,
}

impl Default for ConnectionTotals {
    fn default() -> Self {
        ConnectionTotals {
            peak_open: 0,
            opened: 0,
            failed: 0,
            connect_us: hdr::new_histogram(),
        }
    }
}

impl ConnectionTotals {
    /// Takes in one closed second.
    pub fn add(&mut self, second: &ConnectionStats) {
        self.peak_open = self.peak_open.max(second.open);
        self.opened += second.opened;
        self.failed += second.failed;
        self.connect_us
            .add(&second.connect_us)
            .expect("histograms share bounds");
    }
}

/// The run's connections as summary.json reports them (per-user model).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionFigures {
    /// Most connections open at the end of any second.
    pub peak_open: u64,
    /// Connections opened (a user's first, and every reopen after the server closed one).
    pub opened: u64,
    /// Connect attempts that failed.
    pub failed: u64,
    pub connect_p50_us: u64,
    pub connect_p99_us: u64,
    pub connect_max_us: u64,
}

impl ConnectionFigures {
    pub fn of(t: &ConnectionTotals) -> ConnectionFigures {
        let h = &t.connect_us;
        ConnectionFigures {
            peak_open: t.peak_open,
            opened: t.opened,
            failed: t.failed,
            connect_p50_us: hdr::percentile(h, 50.0),
            connect_p99_us: hdr::percentile(h, 99.0),
            connect_max_us: if h.is_empty() { 0 } else { h.max() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_counts_and_drains() {
        let m = ConnectionMeter::default();
        m.opened(150);
        m.opened(250);
        m.failed();
        m.closed();
        let s = m.drain();
        assert_eq!(
            (s.open, s.opened, s.failed, s.connect_us.len()),
            (1, 2, 1, 2)
        );
        let s = m.drain();
        assert_eq!(
            (s.open, s.opened, s.failed, s.connect_us.len()),
            (1, 0, 0, 0)
        );
        m.closed();
        m.closed();
        assert_eq!(m.open_now(), 0, "never below zero");
    }

    #[test]
    fn stats_merge_and_travel() {
        let m = ConnectionMeter::default();
        m.opened(1_000);
        let mut a = m.drain();
        let b = a.clone();
        a.merge(&b);
        assert_eq!((a.open, a.opened, a.connect_us.len()), (2, 2, 2));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<ConnectionStats>(&json).unwrap(), a);
        let lie = r#"{"open":1,"opened":5,"failed":0,"connect_hdr":""}"#;
        assert!(serde_json::from_str::<ConnectionStats>(lie).is_err());
        let mut totals = ConnectionTotals::default();
        totals.add(&a);
        totals.add(&ConnectionStats::default());
        assert_eq!((totals.peak_open, totals.opened), (2, 2));
    }
}
