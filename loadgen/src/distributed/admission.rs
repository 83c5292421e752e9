//! Admission: a new connection must join with the right protocol version,
//! token and scenarios; then its messages are relayed to the manager as events.

use super::connection::split;
use super::protocol::{
    printable, same_token, Join, Message, MAX_JOIN_FRAME, MAX_NAME_CHARS, PROTOCOL_VERSION,
};
use super::waiting::Place;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::time::timeout;

/// How long a new connection has to send its join.
pub(crate) const JOIN_WITHIN: Duration = Duration::from_secs(5);
/// The longest error text of a refused peer that is printed.
const MAX_REASON_CHARS: usize = 200;

/// What admission checks joins against, and where it sends the admitted's messages.
#[derive(Clone)]
pub(crate) struct Admission {
    pub events: UnboundedSender<Event>,
    pub token: Arc<String>,
    pub fingerprint: Arc<String>,
    pub next_id: Arc<AtomicU32>,
    pub started: Arc<AtomicBool>,
}

pub(crate) enum Event {
    Joined {
        id: u32,
        name: String,
        address: String,
        capacity: u64,
        tx: UnboundedSender<Message>,
    },
    Snapshot {
        id: u32,
        snapshot: Box<crate::metrics::IntervalSnapshot>,
    },
    Alive {
        id: u32,
    },
    Done {
        id: u32,
    },
    /// The worker cannot run its share, and why (its own words, printable).
    Failed {
        id: u32,
        reason: String,
    },
    Gone {
        id: u32,
        reason: String,
    },
    /// The worker's users wait for rows of a feeder the manager deals.
    Rows {
        id: u32,
        wanted: super::protocol::RowsWanted,
    },
    /// Rows dealt after the worker's users who asked had gone.
    Returned {
        id: u32,
        rows: super::protocol::RowsDealt,
    },
}

/// Admission: checks a connection's join and, if good, relays its messages as
/// events. `place` (in the line of connections not yet admitted) is left as
/// soon as the join is decided; a connection pushed out of the line is closed.
pub(crate) async fn admit(stream: TcpStream, place: Place, admission: Admission) {
    let Admission {
        events,
        token,
        fingerprint,
        next_id,
        started,
    } = admission;
    let address = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (mut reader, mut writer) = split(stream);
    let first = tokio::select! {
        first = timeout(JOIN_WITHIN, reader.read_limited(MAX_JOIN_FRAME)) => first,
        // Too many waited: this one longest, without a join.
        _ = place.closed.cancelled() => return,
    };
    let (name, capacity) = match first {
        Ok(Ok(Some(Message::Join(Join {
            protocol,
            token: theirs,
            scenarios,
            capacity,
            name,
        })))) => {
            // Nothing a peer names is printed or kept as sent.
            let name = printable(&name, MAX_NAME_CHARS);
            let refusal = if protocol != PROTOCOL_VERSION {
                Some(format!("protocol version differs: the manager speaks {PROTOCOL_VERSION}, this worker {protocol}; run the same loadgen build on both sides"))
            } else if !same_token(&theirs, &token) {
                Some("wrong token: give the worker the manager's LOADGEN_TOKEN".to_string())
            } else if scenarios != *fingerprint {
                Some(format!(
                    "scenarios differ: the manager's load test is {fingerprint}, this worker's is {}; build both from the same code",
                    printable(&scenarios, 32)
                ))
            } else if capacity == 0 || capacity > super::protocol::MAX_CAPACITY {
                Some(format!(
                    "capacity must be from 1 to {}",
                    super::protocol::MAX_CAPACITY
                ))
            } else if started.load(Ordering::SeqCst) {
                Some("the run has already started".to_string())
            } else {
                None
            };
            if let Some(reason) = refusal {
                eprintln!("manager: refused {name} from {address}: {reason}");
                let _ = writer.write(&Message::Refused { reason }).await;
                return;
            }
            (name, capacity)
        }
        other => {
            eprintln!(
                "manager: dropped a connection from {address}: no valid join ({})",
                describe(&other)
            );
            return;
        }
    };
    drop(place);
    let id = next_id.fetch_add(1, Ordering::SeqCst);
    if writer
        .write(&Message::Welcome { worker_id: id })
        .await
        .is_err()
    {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if writer.write(&m).await.is_err() {
                break;
            }
        }
    });
    let _ = events.send(Event::Joined {
        id,
        name,
        address,
        capacity,
        tx,
    });
    let reason = loop {
        match reader.read().await {
            Ok(Some(Message::Snapshot { snapshot })) => {
                let _ = events.send(Event::Snapshot { id, snapshot });
            }
            Ok(Some(Message::Done)) => {
                let _ = events.send(Event::Done { id });
            }
            Ok(Some(Message::Failed { reason })) => {
                let reason = printable(&reason, MAX_REASON_CHARS);
                let _ = events.send(Event::Failed { id, reason });
            }
            Ok(Some(Message::Rows(wanted))) => {
                let _ = events.send(Event::Rows { id, wanted });
            }
            Ok(Some(Message::Returned(rows))) => {
                let _ = events.send(Event::Returned { id, rows });
            }
            Ok(Some(_)) => {
                let _ = events.send(Event::Alive { id });
            }
            Ok(None) => break "disconnected".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    let _ = events.send(Event::Gone { id, reason });
}

/// What came instead of a join, printable: a message's kind, never its content.
fn describe<E: std::fmt::Display, X>(r: &Result<Result<Option<Message>, E>, X>) -> String {
    match r {
        Ok(Ok(Some(m))) => format!("the first message was a {}", m.kind()),
        Ok(Ok(None)) => "closed at once".into(),
        Ok(Err(e)) => printable(&e.to_string(), MAX_REASON_CHARS),
        Err(_) => format!("nothing within {} s", JOIN_WITHIN.as_secs()),
    }
}
