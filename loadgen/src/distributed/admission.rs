//! Admission: a new connection must join with the right protocol version,
//! token and scenarios; then its messages are relayed to the manager as events.

use super::connection::split;
use super::protocol::{same_token, Join, Message, PROTOCOL_VERSION};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::time::timeout;

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
    Gone {
        id: u32,
        reason: String,
    },
}

/// Admission: checks a connection's join and, if good, relays its messages as events.
pub(crate) async fn admit(
    stream: TcpStream,
    events: UnboundedSender<Event>,
    token: Arc<String>,
    fingerprint: Arc<String>,
    next_id: Arc<AtomicU32>,
    started: Arc<AtomicBool>,
) {
    let address = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (mut reader, mut writer) = split(stream);
    let (name, capacity) = match timeout(Duration::from_secs(5), reader.read()).await {
        Ok(Ok(Some(Message::Join(Join {
            protocol,
            token: theirs,
            scenarios,
            capacity,
            name,
        })))) => {
            let refusal = if protocol != PROTOCOL_VERSION {
                Some(format!("protocol version differs: the manager speaks {PROTOCOL_VERSION}, this worker {protocol}; run the same loadgen build on both sides"))
            } else if !same_token(&theirs, &token) {
                Some("wrong token: give the worker the manager's LOADGEN_TOKEN".to_string())
            } else if scenarios != *fingerprint {
                Some(format!("scenarios differ: the manager's load test is {fingerprint}, this worker's is {scenarios}; build both from the same code"))
            } else if capacity == 0 {
                Some("capacity must be at least 1".to_string())
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
            Ok(Some(_)) => {
                let _ = events.send(Event::Alive { id });
            }
            Ok(None) => break "disconnected".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    let _ = events.send(Event::Gone { id, reason });
}

fn describe<T: std::fmt::Debug, E: std::fmt::Display, X>(
    r: &Result<Result<Option<T>, E>, X>,
) -> String {
    match r {
        Ok(Ok(Some(m))) => format!("first message was {m:?}"),
        Ok(Ok(None)) => "closed at once".into(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "nothing within 5 s".into(),
    }
}
