//! The report page's workers section: each worker of a distributed run, its
//! share and figures, and when and why a lost one was lost.

use super::escape;
use super::summary::Summary;
use std::io::{self, Write};

pub fn workers_table(s: &Summary, out: &mut dyn Write) -> io::Result<()> {
    if s.workers.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h2>Workers</h2><table id=\"workers\"><tr><th>Id</th><th>Name</th><th>Address</th>\
         <th>Capacity</th><th>Peak users</th><th>Requests</th><th>Failures</th><th>RPS</th>\
         <th>State</th><th>Lost</th></tr>"
    )?;
    for w in &s.workers {
        let lost = match (w.lost_at_secs, &w.lost_reason) {
            (Some(at), reason) => format!(
                "at {at:.1} s: {}; {} users moved",
                reason.as_deref().unwrap_or("lost"),
                w.users_moved.unwrap_or(0)
            ),
            _ => String::new(),
        };
        let class = if w.state.is_lost() {
            " class=\"fail\""
        } else {
            ""
        };
        writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
            w.id,
            escape(&w.name),
            escape(&w.address),
            w.capacity,
            w.peak_users,
            w.requests,
            w.failures,
            w.rps,
            w.state.as_str(),
            escape(&lost)
        )?;
    }
    writeln!(out, "</table>")
}
