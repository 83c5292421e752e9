//! The connections virtual users hold, counted as they go: open now, opened
//! and failed per interval, how long each connect and TLS handshake took (HDR,
//! microseconds), full and resumed handshakes, HTTP/1.1 and HTTP/2
//! connections and streams, GOAWAY and RST_STREAM seen, the origins
//! connected to, and compressed bodies' bytes on the wire and decoded. Time to
//! first byte is recorded per request by the recorder and travels here.

use super::hdr;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Origins named one by one; the rest are counted as `(other origins)`.
pub const MAX_ORIGINS: usize = 64;
const OTHER_ORIGINS: &str = "(other origins)";

/// Counts connections as users open and close them; drained every second.
#[derive(Default)]
pub struct ConnectionMeter {
    open: AtomicU64,
    counts: [AtomicU64; COUNTS],
    timings: Mutex<Timings>,
}

/// The counters of an interval, by index.
const OPENED: usize = 0;
const FAILED: usize = 1;
const TLS_FAILED: usize = 2;
const FULL: usize = 3;
const RESUMED: usize = 4;
const HTTP1: usize = 5;
const HTTP2: usize = 6;
const STREAMS: usize = 7;
const GOAWAYS: usize = 8;
const RESETS: usize = 9;
const WIRE_BYTES: usize = 10;
const DECODED_BYTES: usize = 11;
const COUNTS: usize = 12;

#[derive(Default)]
struct Timings {
    connect_us: Option<Histogram<u64>>,
    tls_us: Option<Histogram<u64>>,
    origins: BTreeMap<String, u64>,
}

fn record(hist: &mut Option<Histogram<u64>>, us: u64) {
    hdr::record_clamped(hist.get_or_insert_with(hdr::new_histogram), us);
}

impl ConnectionMeter {
    fn add(&self, counter: usize, n: u64) {
        self.counts[counter].fetch_add(n, Ordering::Relaxed);
    }

    fn timings(&self) -> std::sync::MutexGuard<'_, Timings> {
        self.timings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection was made in `connect_us` microseconds.
    pub fn opened(&self, connect_us: u64) {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.add(OPENED, 1);
        record(&mut self.timings().connect_us, connect_us);
    }

    /// A connect failed (refused, timed out, no route).
    pub fn failed(&self) {
        self.add(FAILED, 1);
    }

    /// A connection was closed (by either side).
    pub fn closed(&self) {
        let _ = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// A connection was opened to this origin (`https://host:port`).
    pub fn origin_opened(&self, origin: &str) {
        let mut t = self.timings();
        let key = if t.origins.len() < MAX_ORIGINS || t.origins.contains_key(origin) {
            origin
        } else {
            OTHER_ORIGINS
        };
        *t.origins.entry(key.to_string()).or_default() += 1;
    }

    /// A TLS handshake succeeded in `us`, resumed or full.
    pub fn handshaken(&self, us: u64, resumed: bool) {
        self.add(if resumed { RESUMED } else { FULL }, 1);
        record(&mut self.timings().tls_us, us);
    }

    /// A TLS handshake failed.
    pub fn tls_failed(&self) {
        self.add(TLS_FAILED, 1);
    }

    /// A connection speaks HTTP/2 (`true`) or HTTP/1.1.
    pub fn speaks(&self, h2: bool) {
        self.add(if h2 { HTTP2 } else { HTTP1 }, 1);
    }

    /// An HTTP/2 stream was opened (one request).
    pub fn stream(&self) {
        self.add(STREAMS, 1);
    }

    /// An HTTP/2 connection was told to go away (GOAWAY).
    pub fn goaway(&self) {
        self.add(GOAWAYS, 1);
    }

    /// An HTTP/2 stream was reset by the server (RST_STREAM).
    pub fn reset(&self) {
        self.add(RESETS, 1);
    }

    /// A compressed body: its bytes on the wire, and decoded.
    pub fn transferred(&self, wire: u64, decoded: u64) {
        self.add(WIRE_BYTES, wire);
        self.add(DECODED_BYTES, decoded);
    }

    pub fn open_now(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// What happened since the last drain, and the connections open now.
    /// (Its time-to-first-byte histogram is the recorder's to fill.)
    pub fn drain(&self) -> ConnectionStats {
        let t = std::mem::take(&mut *self.timings());
        let take = |i: usize| self.counts[i].swap(0, Ordering::Relaxed);
        ConnectionStats {
            open: self.open_now(),
            opened: take(OPENED),
            failed: take(FAILED),
            connect_us: t.connect_us.unwrap_or_else(hdr::new_histogram),
            tls_failed: take(TLS_FAILED),
            handshakes_full: take(FULL),
            handshakes_resumed: take(RESUMED),
            tls_us: t.tls_us.unwrap_or_else(hdr::new_histogram),
            http1: take(HTTP1),
            http2: take(HTTP2),
            h2_streams: take(STREAMS),
            h2_goaways: take(GOAWAYS),
            h2_resets: take(RESETS),
            wire_bytes: take(WIRE_BYTES),
            decoded_bytes: take(DECODED_BYTES),
            ttfb_us: hdr::new_histogram(),
            origins: t.origins,
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
    pub tls_failed: u64,
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    /// Handshake times of the TLS connections opened during it.
    pub tls_us: Histogram<u64>,
    /// Connections opened speaking HTTP/1.1, and HTTP/2.
    pub http1: u64,
    pub http2: u64,
    pub h2_streams: u64,
    pub h2_goaways: u64,
    pub h2_resets: u64,
    /// Compressed bodies: bytes on the wire, and decoded.
    pub wire_bytes: u64,
    pub decoded_bytes: u64,
    /// Time to first byte of the requests answered during it.
    pub ttfb_us: Histogram<u64>,
    /// Connections opened per origin (at most `MAX_ORIGINS` named).
    pub origins: BTreeMap<String, u64>,
}

impl Default for ConnectionStats {
    fn default() -> Self {
        ConnectionStats {
            open: 0,
            opened: 0,
            failed: 0,
            connect_us: hdr::new_histogram(),
            tls_failed: 0,
            handshakes_full: 0,
            handshakes_resumed: 0,
            tls_us: hdr::new_histogram(),
            http1: 0,
            http2: 0,
            h2_streams: 0,
            h2_goaways: 0,
            h2_resets: 0,
            wire_bytes: 0,
            decoded_bytes: 0,
            ttfb_us: hdr::new_histogram(),
            origins: BTreeMap::new(),
        }
    }
}

impl ConnectionStats {
    /// Adds another process's same interval (or another interval, for
    /// totals): its open connections count too.
    pub fn merge(&mut self, other: &ConnectionStats) {
        self.open += other.open;
        self.opened += other.opened;
        self.failed += other.failed;
        self.tls_failed += other.tls_failed;
        self.handshakes_full += other.handshakes_full;
        self.handshakes_resumed += other.handshakes_resumed;
        self.http1 += other.http1;
        self.http2 += other.http2;
        self.h2_streams += other.h2_streams;
        self.h2_goaways += other.h2_goaways;
        self.h2_resets += other.h2_resets;
        self.wire_bytes += other.wire_bytes;
        self.decoded_bytes += other.decoded_bytes;
        for (mine, theirs) in [
            (&mut self.connect_us, &other.connect_us),
            (&mut self.tls_us, &other.tls_us),
            (&mut self.ttfb_us, &other.ttfb_us),
        ] {
            mine.add(theirs).expect("histograms share bounds");
        }
        for (origin, n) in &other.origins {
            let key = if self.origins.len() < MAX_ORIGINS || self.origins.contains_key(origin) {
                origin.as_str()
            } else {
                OTHER_ORIGINS
            };
            *self.origins.entry(key.to_string()).or_default() += n;
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StatsWire {
    open: u64,
    opened: u64,
    failed: u64,
    connect_hdr: String,
    #[serde(default)]
    tls_failed: u64,
    #[serde(default)]
    handshakes_full: u64,
    #[serde(default)]
    handshakes_resumed: u64,
    #[serde(default)]
    tls_hdr: Option<String>,
    #[serde(default)]
    http1: u64,
    #[serde(default)]
    http2: u64,
    #[serde(default)]
    h2_streams: u64,
    #[serde(default)]
    h2_goaways: u64,
    #[serde(default)]
    h2_resets: u64,
    #[serde(default)]
    wire_bytes: u64,
    #[serde(default)]
    decoded_bytes: u64,
    #[serde(default)]
    ttfb_hdr: Option<String>,
    #[serde(default)]
    origins: Vec<(String, u64)>,
}

impl From<ConnectionStats> for StatsWire {
    fn from(s: ConnectionStats) -> Self {
        let hist = |h: &Histogram<u64>| (!h.is_empty()).then(|| hdr::to_base64(h));
        StatsWire {
            open: s.open,
            opened: s.opened,
            failed: s.failed,
            connect_hdr: hdr::to_base64(&s.connect_us),
            tls_failed: s.tls_failed,
            handshakes_full: s.handshakes_full,
            handshakes_resumed: s.handshakes_resumed,
            tls_hdr: hist(&s.tls_us),
            http1: s.http1,
            http2: s.http2,
            h2_streams: s.h2_streams,
            h2_goaways: s.h2_goaways,
            h2_resets: s.h2_resets,
            wire_bytes: s.wire_bytes,
            decoded_bytes: s.decoded_bytes,
            ttfb_hdr: hist(&s.ttfb_us),
            origins: s.origins.into_iter().collect(),
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
        let hist = |h: Option<String>| match h {
            Some(text) => hdr::from_base64(&text),
            None => Ok(hdr::new_histogram()),
        };
        let tls_us = hist(w.tls_hdr)?;
        let handshakes = w.handshakes_full.saturating_add(w.handshakes_resumed);
        if tls_us.len() != handshakes {
            return Err(format!(
                "TLS histogram holds {} samples but {handshakes} handshakes are counted",
                tls_us.len()
            ));
        }
        if w.origins.len() > MAX_ORIGINS + 1 {
            return Err(format!(
                "{} origins: at most {MAX_ORIGINS} are named",
                w.origins.len()
            ));
        }
        Ok(ConnectionStats {
            open: w.open,
            opened: w.opened,
            failed: w.failed,
            connect_us,
            tls_failed: w.tls_failed,
            handshakes_full: w.handshakes_full,
            handshakes_resumed: w.handshakes_resumed,
            tls_us,
            http1: w.http1,
            http2: w.http2,
            h2_streams: w.h2_streams,
            h2_goaways: w.h2_goaways,
            h2_resets: w.h2_resets,
            wire_bytes: w.wire_bytes,
            decoded_bytes: w.decoded_bytes,
            ttfb_us: hist(w.ttfb_hdr)?,
            origins: w.origins.into_iter().collect(),
        })
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
        m.handshaken(900, false);
        m.speaks(true);
        m.origin_opened("https://a.test");
        let s = m.drain();
        assert_eq!(
            (s.open, s.opened, s.failed, s.connect_us.len()),
            (1, 2, 1, 2)
        );
        assert_eq!((s.handshakes_full, s.tls_us.len(), s.http2), (1, 1, 1));
        assert_eq!(s.origins["https://a.test"], 1);
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
        m.handshaken(2_000, true);
        let mut a = m.drain();
        a.ttfb_us.record(300).unwrap();
        let b = a.clone();
        a.merge(&b);
        assert_eq!((a.open, a.opened, a.connect_us.len()), (2, 2, 2));
        assert_eq!((a.handshakes_resumed, a.ttfb_us.len()), (2, 2));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<ConnectionStats>(&json).unwrap(), a);
        let lie = r#"{"open":1,"opened":5,"failed":0,"connect_hdr":""}"#;
        assert!(serde_json::from_str::<ConnectionStats>(lie).is_err());
    }
}
