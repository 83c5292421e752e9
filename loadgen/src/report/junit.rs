//! `junit.xml`: one testcase per threshold, so CI test reports show each rule;
//! a failure carries the observed value and the limit.

use super::escape;
use super::model::Model;
use std::io::{self, Write};

pub fn write(m: &Model, out: &mut dyn Write) -> io::Result<()> {
    let s = m.summary;
    let tests = s.thresholds.len();
    let failures = s.thresholds.iter().filter(|r| !r.passed).count();
    let suite = escape(&format!(
        "loadgen {} against {}",
        s.config.shape, s.config.host
    ));
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="loadgen" tests="{tests}" failures="{failures}" errors="0" time="{:.3}">"#,
        s.duration_secs
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{suite}" tests="{tests}" failures="{failures}" errors="0" skipped="0" time="{:.3}" timestamp="{}">"#,
        s.duration_secs,
        escape(s.started_at.trim_end_matches('Z'))
    )?;
    writeln!(
        out,
        r#"    <properties><property name="requests" value="{}"/><property name="interrupted" value="{}"/></properties>"#,
        s.total.figures.requests, s.interrupted
    )?;
    for r in &s.thresholds {
        write!(
            out,
            r#"    <testcase classname="loadgen.thresholds" name="{}" time="0">"#,
            escape(&r.rule)
        )?;
        if r.passed {
            writeln!(
                out,
                "<system-out>observed {}, limit {}</system-out></testcase>",
                escape(&r.observed_text),
                escape(&r.limit_text)
            )?;
        } else {
            let msg = escape(&format!(
                "observed {}, limit {}",
                r.observed_text, r.limit_text
            ));
            writeln!(
                out,
                r#"<failure type="threshold" message="{msg}">{}: {msg}</failure></testcase>"#,
                escape(&r.rule)
            )?;
        }
    }
    writeln!(out, "  </testsuite>\n</testsuites>")
}
