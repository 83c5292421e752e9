//! The manager/worker protocol: versioned messages, their size limits, the
//! shared-token check, the scenario fingerprint both sides compare at join,
//! and how a peer's text is printed.

use crate::author::scenario::ScenarioDef;
use crate::engine::LoadSpec;
use crate::metrics::IntervalSnapshot;
use crate::shape::Shape;
use serde::{Deserialize, Serialize};

/// The largest capacity a worker may claim: a share is in proportion to it,
/// so an unbounded claim would take every user.
pub const MAX_CAPACITY: u64 = 1_000_000;

/// Bumped on any incompatible change of `Message`.
pub const PROTOCOL_VERSION: u32 = 4;
/// Largest frame either side accepts (a snapshot of many endpoints fits easily).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;
/// Largest first frame (the join) the manager reads from a connection it does
/// not know yet: nothing is buffered for a peer beyond this before its token is checked.
pub const MAX_JOIN_FRAME: usize = 4 * 1024;
/// Longest shared token (bytes): with the name, it keeps a join within `MAX_JOIN_FRAME`.
pub const MAX_TOKEN_BYTES: usize = 1024;
/// A worker's name as the manager prints and reports it: at most this many characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Workers send at least this often; the manager marks a worker lost after 3 missed.
pub const HEARTBEAT_SECS: u64 = 1;
pub const MISSED_HEARTBEATS: u64 = 3;

/// Worker -> manager, the first frame: who it is and what it can run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Join {
    pub protocol: u32,
    pub token: String,
    /// `scenario_fingerprint` of the worker's registered scenarios.
    pub scenarios: String,
    pub capacity: u64,
    pub name: String,
}

/// Manager -> worker: its share of the run. Start `start_in_ms` after receiving
/// it (the manager's clock); on a rebalance, `from_secs` says where in the plan
/// to resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub shape: Shape,
    pub host: String,
    /// The run's generator options, as the manager's plan has them.
    pub load: LoadSpec,
    pub start_in_ms: u64,
    pub from_secs: u64,
    /// This worker's place among the run's first workers (its feeder stripe
    /// and the base of its users' ids): `worker_index` of `workers`.
    #[serde(default)]
    pub worker_index: u32,
    #[serde(default = "one")]
    pub workers: u32,
    /// What the run's setup returned, on the manager.
    #[serde(default)]
    pub setup: serde_json::Value,
    /// How long ago the run started, for a worker that joins late (its clock
    /// starts there, so its seconds are the run's).
    #[serde(default)]
    pub started_ms_ago: u64,
    /// The run may be steered: follow `Message::Steer` live (closed model:
    /// through goose's controller on a loopback port).
    #[serde(default)]
    pub steerable: bool,
}

fn one() -> u32 {
    1
}

/// Worker -> manager: rows of a feeder the manager deals, for `want` users
/// waiting on this worker; the file as this worker sees it, which every
/// worker must agree on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowsWanted {
    pub feeder: String,
    pub want: u32,
    pub rows_in_file: u64,
    pub unique: bool,
    pub recycle: bool,
}

/// Manager -> worker: rows dealt (their places in the file), at most as many
/// as wanted; `out` when none are left; `refused` when it cannot deal them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowsDealt {
    pub feeder: String,
    pub rows: Vec<u64>,
    pub out: bool,
    #[serde(default)]
    pub refused: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Join(Join),
    /// Manager -> worker: accepted.
    Welcome {
        worker_id: u32,
    },
    /// Manager -> worker: not accepted, and why; the connection closes.
    Refused {
        reason: String,
    },
    Assign(Box<Assignment>),
    /// Worker -> manager: one second of measurements.
    Snapshot {
        snapshot: Box<IntervalSnapshot>,
    },
    /// Worker -> manager: alive (sent when there is no snapshot to send).
    Heartbeat,
    /// Worker -> manager: its plan is over and every snapshot has been sent.
    Done,
    /// Worker -> manager: it cannot run its share (a file it was told to read
    /// is not there, say), and why; its users go to the others.
    Failed {
        reason: String,
    },
    /// Manager -> worker: stop generating load now, send what you have, then Done.
    Stop {
        reason: String,
    },
    /// Manager -> worker: the run was steered; follow this share of the
    /// plan as steered (from its `from_secs`), paused or not.
    Steer {
        live: Box<crate::engine::steer::Live>,
    },
    /// Worker -> manager: its users wait for rows of a dealt feeder.
    Rows(RowsWanted),
    /// Manager -> worker: the rows dealt.
    Dealt(RowsDealt),
    /// Worker -> manager: rows dealt after the users who asked had gone: deal them again.
    Returned(RowsDealt),
}

impl Message {
    /// What kind of message this is, for logs (never its content).
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Join(_) => "join",
            Message::Welcome { .. } => "welcome",
            Message::Refused { .. } => "refused",
            Message::Assign(_) => "assign",
            Message::Snapshot { .. } => "snapshot",
            Message::Heartbeat => "heartbeat",
            Message::Done => "done",
            Message::Failed { .. } => "failed",
            Message::Stop { .. } => "stop",
            Message::Steer { .. } => "steer",
            Message::Rows(_) => "rows",
            Message::Dealt(_) => "dealt",
            Message::Returned(_) => "returned",
        }
    }
}

/// Text a peer sent, made safe to print: control and bidirectional-override
/// characters escaped (`\u{1b}`), at most `max_chars` characters kept (then `...`).
/// A peer's name or error can then neither move the cursor nor forge a log line.
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push_str("...");
            break;
        }
        let hidden = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || hidden {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Compares secrets in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// A stable fingerprint (FNV-1a) of the registered scenarios: names, weights
/// and tasks, so manager and workers run the same load test.
pub fn scenario_fingerprint(scenarios: &[ScenarioDef]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for s in scenarios {
        eat(&s.name);
        eat(&s.weight.to_string());
        for task in s.task_names() {
            eat(&task);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(same_token("s3cret", "s3cret"));
        assert!(!same_token("s3cret", "s3cres"));
        assert!(!same_token("s3cret", "s3cret!"));
        assert!(!same_token("", "x"));
        assert!(same_token("", ""));
    }

    #[test]
    fn messages_travel_as_tagged_json() {
        let join = Message::Join(Join {
            protocol: PROTOCOL_VERSION,
            token: "t".into(),
            scenarios: "f".into(),
            capacity: 10,
            name: "w".into(),
        });
        let json = serde_json::to_string(&join).unwrap();
        assert!(json.starts_with(r#"{"type":"join","protocol":4"#), "{json}");
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), join);
    }

    #[test]
    fn printable_text_escapes_controls_and_is_capped() {
        let forged = "w\u{1b}[2J\r\nmanager: worker 7 joined\u{202e}";
        let shown = printable(forged, 64);
        assert_eq!(shown, "w\\u{1b}[2J\\r\\nmanager: worker 7 joined\\u{202e}");
        assert!(!shown.chars().any(char::is_control));
        let long = printable(&"é".repeat(1_000), MAX_NAME_CHARS);
        assert_eq!(long.chars().count(), MAX_NAME_CHARS + 3);
        assert_eq!(printable("worker-1", MAX_NAME_CHARS), "worker-1");
    }

    #[test]
    fn fingerprint_tells_scenarios_apart() {
        let a = vec![ScenarioDef::new("reader").weight(3)];
        let b = vec![ScenarioDef::new("reader").weight(2)];
        assert_eq!(scenario_fingerprint(&a), scenario_fingerprint(&a.clone()));
        assert_ne!(scenario_fingerprint(&a), scenario_fingerprint(&b));
    }
}
