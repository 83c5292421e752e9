//! The run's connections so far, and as summary.json reports them: peak open,
//! opened and failed, connect, TLS handshake and time-to-first-byte
//! percentiles, handshakes full and resumed, HTTP/1.1 and HTTP/2, the origins.

use super::connections::ConnectionStats;
use super::hdr;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Every closed second's connections, added up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectionTotals {
    /// Most connections open at the end of any second.
    pub peak_open: u64,
    /// The seconds' counts and histograms, summed (`open` is meaningless here).
    pub sum: ConnectionStats,
}

impl ConnectionTotals {
    /// Takes in one closed second.
    pub fn add(&mut self, second: &ConnectionStats) {
        self.peak_open = self.peak_open.max(second.open);
        self.sum.merge(second);
    }
}

/// A latency's figures in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Spread {
    fn of(h: &Histogram<u64>) -> Spread {
        Spread {
            p50_us: hdr::percentile(h, 50.0),
            p99_us: hdr::percentile(h, 99.0),
            max_us: if h.is_empty() { 0 } else { h.max() },
        }
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
    /// TLS: handshakes done in full and resumed (a user reconnecting with its
    /// session), failed, and how long they took.
    #[serde(default)]
    pub tls: TlsFigures,
    /// Time to first byte: from a request's send to the first byte of its answer.
    #[serde(default)]
    pub ttfb: Spread,
    /// HTTP versions of the connections opened, and HTTP/2's own events.
    #[serde(default)]
    pub http: HttpFigures,
    /// Connections opened per origin (`https://host:port`), most first.
    #[serde(default)]
    pub origins: Vec<OriginCount>,
    /// Compressed answers: body bytes on the wire, and decoded.
    #[serde(default)]
    pub compressed_wire_bytes: u64,
    #[serde(default)]
    pub compressed_decoded_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsFigures {
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    pub failed: u64,
    #[serde(flatten)]
    pub time: Spread,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpFigures {
    pub http1_connections: u64,
    pub http2_connections: u64,
    pub h2_streams: u64,
    pub h2_goaways: u64,
    pub h2_resets: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OriginCount {
    pub origin: String,
    pub connections: u64,
}

impl ConnectionFigures {
    pub fn of(t: &ConnectionTotals) -> ConnectionFigures {
        let s = &t.sum;
        let connect = Spread::of(&s.connect_us);
        let mut origins: Vec<OriginCount> = s
            .origins
            .iter()
            .map(|(origin, n)| OriginCount {
                origin: origin.clone(),
                connections: *n,
            })
            .collect();
        origins.sort_by_key(|o| std::cmp::Reverse(o.connections));
        ConnectionFigures {
            peak_open: t.peak_open,
            opened: s.opened,
            failed: s.failed,
            connect_p50_us: connect.p50_us,
            connect_p99_us: connect.p99_us,
            connect_max_us: connect.max_us,
            tls: TlsFigures {
                handshakes_full: s.handshakes_full,
                handshakes_resumed: s.handshakes_resumed,
                failed: s.tls_failed,
                time: Spread::of(&s.tls_us),
            },
            ttfb: Spread::of(&s.ttfb_us),
            http: HttpFigures {
                http1_connections: s.http1,
                http2_connections: s.http2,
                h2_streams: s.h2_streams,
                h2_goaways: s.h2_goaways,
                h2_resets: s.h2_resets,
            },
            origins,
            compressed_wire_bytes: s.wire_bytes,
            compressed_decoded_bytes: s.decoded_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ConnectionMeter;

    #[test]
    fn totals_keep_the_peak_and_sum_the_rest() {
        let m = ConnectionMeter::default();
        m.opened(1_000);
        m.opened(3_000);
        m.handshaken(5_000, false);
        m.origin_opened("https://a.test");
        let mut t = ConnectionTotals::default();
        t.add(&m.drain());
        m.closed();
        t.add(&m.drain());
        let f = ConnectionFigures::of(&t);
        assert_eq!((f.peak_open, f.opened, f.tls.handshakes_full), (2, 2, 1));
        assert_eq!(f.origins[0].origin, "https://a.test");
        assert!(f.tls.time.p50_us >= 4_990 && f.connect_max_us >= 2_990);
    }
}
