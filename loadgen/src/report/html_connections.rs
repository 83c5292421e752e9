//! report.html's Connections section: what users waited besides the answer
//! (connect, TLS handshake, first byte), handshakes full and resumed, HTTP
//! versions and HTTP/2's events, the origins connected to, compressed bytes.

use super::escape;
use super::model::Model;
use crate::units::fmt_us;
use std::io::{self, Write};

pub fn connections_section(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let Some(c) = &m.summary.connections else {
        return Ok(());
    };
    writeln!(
        out,
        "<h2>Connections</h2><table id=\"connection-times\"><tr><th>Phase</th><th>Count</th>\
         <th>P50</th><th>P99</th><th>Max</th></tr>"
    )?;
    let t = &c.tls;
    let rows = [
        (
            "Connect (TCP)",
            c.opened,
            c.connect_p50_us,
            c.connect_p99_us,
            c.connect_max_us,
        ),
        (
            "TLS handshake",
            t.handshakes_full + t.handshakes_resumed,
            t.time.p50_us,
            t.time.p99_us,
            t.time.max_us,
        ),
        ("First byte", 0, c.ttfb.p50_us, c.ttfb.p99_us, c.ttfb.max_us),
    ];
    for (phase, count, p50, p99, max) in rows {
        let count = if count == 0 {
            "-".to_string()
        } else {
            count.to_string()
        };
        writeln!(
            out,
            "<tr><td>{phase}</td><td>{count}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt_us(p50),
            fmt_us(p99),
            fmt_us(max)
        )?;
    }
    let h = &c.http;
    writeln!(
        out,
        "</table><p id=\"connection-counts\">Peak {} open, {} opened, {} failed to open &middot; \
         TLS: {} full and {} resumed handshakes, {} failed{} &middot; HTTP/1.1 connections {}, \
         HTTP/2 connections {} ({} streams, {} GOAWAY, {} RST_STREAM)</p>",
        c.peak_open,
        c.opened,
        c.failed,
        t.handshakes_full,
        t.handshakes_resumed,
        t.failed,
        if m.summary.config.insecure {
            " (<b>--insecure: certificates NOT verified</b>)"
        } else {
            ""
        },
        h.http1_connections,
        h.http2_connections,
        h.h2_streams,
        h.h2_goaways,
        h.h2_resets
    )?;
    if !c.origins.is_empty() {
        writeln!(
            out,
            "<table id=\"origins\"><tr><th>Origin</th><th>Connections</th></tr>"
        )?;
        for o in &c.origins {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&o.origin),
                o.connections
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if c.compressed_wire_bytes > 0 {
        writeln!(
            out,
            "<p>Compressed answers: {} bytes on the wire, {} decoded.</p>",
            c.compressed_wire_bytes, c.compressed_decoded_bytes
        )?;
    }
    Ok(())
}
