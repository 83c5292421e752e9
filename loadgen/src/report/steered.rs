//! A steered run in every report: its changes (numbered as on the charts'
//! markers) and the command that replays the session, in the console, the
//! markdown summary and report.html.

use super::escape;
use super::summary::Summary;
use crate::control::steering::Steered;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The command that replays the session.
pub fn replay_command(s: &Steered) -> String {
    format!("loadgen run '{}'", s.replay)
}

/// Each change where it applied, labelled for the charts.
pub fn markers(summary: &Summary) -> Vec<(f64, String)> {
    summary.steered.as_ref().map_or_else(Vec::new, |s| {
        s.controls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.from_secs as f64, format!("change {}: {}", i + 1, c.what)))
            .collect()
    })
}

/// The console's lines: each change, and the replay.
pub fn console(summary: &Summary) -> String {
    let mut out = String::new();
    let Some(s) = &summary.steered else {
        return out;
    };
    let _ = writeln!(out, "\nSteered ({} change(s)):", s.controls.len());
    for (i, c) in s.controls.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. at {:.1} s ({}): {} from {} s",
            i + 1,
            c.at_secs,
            c.by,
            c.what,
            c.from_secs
        );
    }
    let _ = writeln!(out, "  replay this session: {}", replay_command(s));
    out
}

/// summary.md's part.
pub fn markdown(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    let Some(s) = &summary.steered else {
        return Ok(());
    };
    writeln!(
        out,
        "\n**Steered**: replay with `{}`\n\n| # | Asked at | From | Change | By |\n|---:|---:|---:|---|---|",
        replay_command(s)
    )?;
    for (i, c) in s.controls.iter().enumerate() {
        writeln!(
            out,
            "| {} | {:.1} s | {} s | {} | {} |",
            i + 1,
            c.at_secs,
            c.from_secs,
            c.what,
            c.by
        )?;
    }
    Ok(())
}

/// report.html's section.
pub fn html(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    let Some(s) = &summary.steered else {
        return Ok(());
    };
    writeln!(
        out,
        "<h2>Steered</h2><p>This run was changed while it ran; the charts mark each change. \
         Replay the session: <code id=\"replay\">{}</code></p>\
         <table id=\"controls\"><tr><th>#</th><th>Asked at</th><th>From</th><th>Change</th><th>By</th></tr>",
        escape(&replay_command(s))
    )?;
    for (i, c) in s.controls.iter().enumerate() {
        writeln!(
            out,
            "<tr><td>{}</td><td>{:.1} s</td><td>{} s</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            c.at_secs,
            c.from_secs,
            escape(&c.what),
            escape(&c.by)
        )?;
    }
    writeln!(out, "</table>")
}
