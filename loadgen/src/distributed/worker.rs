//! The worker: joins a manager, runs its share of the shape on goose, streams a
//! snapshot every second, takes new shares on rebalance, and stops by itself
//! when the manager is gone.

use super::connection::{split, FrameReader};
use super::idle::{has_nobody, idle, Idled};
use super::protocol::{
    printable, scenario_fingerprint, Assignment, Join, Message, HEARTBEAT_SECS, MAX_NAME_CHARS,
    MISSED_HEARTBEATS, PROTOCOL_VERSION,
};
use crate::author::feeder::{Feeder, Feeders};
use crate::author::scenario::ScenarioDef;
use crate::client::ConnectionModel;
use crate::engine::generate::{generate, prepare};
use crate::engine::steer::{Live, Steer};
use crate::engine::ticker::drain_every_second;
use crate::engine::{files, Workload};
use crate::error::exit;
use crate::metrics::Recorder;
use crate::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

pub struct WorkerConfig {
    /// `HOST:PORT`, as `manager_address` accepts it.
    pub manager: String,
    pub capacity: u64,
    pub token: String,
    pub name: String,
    /// How long to keep trying to reach the manager.
    pub connect_timeout: Duration,
    /// `--local-ips` of this worker: its users' source addresses, over the run's.
    pub local_ips: Option<Vec<std::net::IpAddr>>,
}

/// What the manager has said, shared by the reader task and the attack loop.
/// Each attack runs under `halt`, cancelled by a stop, a lost manager or a new share.
struct Control {
    stop: Option<String>,
    lost: Option<String>,
    reassign: Option<Assignment>,
    halt: CancellationToken,
    /// This worker's share of the live plan, as the manager last steered it.
    live: watch::Sender<Live>,
}

impl Control {
    fn halt(&mut self) {
        self.halt.cancel();
    }
}

type Shared = Arc<Mutex<Control>>;

fn lock(control: &Shared) -> std::sync::MutexGuard<'_, Control> {
    control.lock().unwrap_or_else(|p| p.into_inner())
}

fn silence() -> Duration {
    Duration::from_secs(HEARTBEAT_SECS * MISSED_HEARTBEATS)
}

fn lost(why: impl std::fmt::Display) -> Error {
    Error::Run(format!("lost the manager ({why}): stopped generating load"))
}

pub async fn run(
    registered: &[ScenarioDef],
    feeders: &[(String, Feeder)],
    cfg: WorkerConfig,
    interrupt: &CancellationToken,
) -> Result<u8, Error> {
    let stream = connect(&cfg, interrupt).await?;
    let (mut reader, mut writer) = split(stream);
    let join = Message::Join(Join {
        protocol: PROTOCOL_VERSION,
        token: cfg.token.clone(),
        scenarios: scenario_fingerprint(registered),
        capacity: cfg.capacity,
        // The manager shows no more of it than this.
        name: cfg.name.chars().take(MAX_NAME_CHARS).collect(),
    });
    writer.write(&join).await.map_err(lost)?;
    let id = match timeout(Duration::from_secs(10), reader.read()).await {
        Ok(Ok(Some(Message::Welcome { worker_id }))) => worker_id,
        Ok(Ok(Some(Message::Refused { reason }))) => {
            return Err(Error::Run(format!(
                "the manager refused this worker: {}",
                printable(&reason, 500)
            )))
        }
        Ok(Ok(Some(other))) => return Err(lost(format!("no welcome: a {}", other.kind()))),
        Ok(Ok(None)) => return Err(lost("no welcome: it closed the connection")),
        Ok(Err(e)) => {
            return Err(lost(format!(
                "no welcome: {}",
                printable(&e.to_string(), 200)
            )))
        }
        Err(_) => return Err(lost("no welcome within 10 s")),
    };
    eprintln!(
        "worker {id} ({}): joined {}, waiting for the start",
        cfg.name, cfg.manager
    );
    let first = loop {
        tokio::select! {
            read = timeout(silence(), reader.read()) => match read {
                Ok(Ok(Some(Message::Assign(assignment)))) => break *assignment,
                Ok(Ok(Some(Message::Stop { reason }))) => {
                    eprintln!("worker {id}: stopped before the start: {reason}");
                    return Ok(exit::PASSED);
                }
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => return Err(lost("it closed the connection")),
                Ok(Err(e)) => return Err(lost(e)),
                Err(_) => return Err(lost("no heartbeat")),
            },
            _ = interrupt.cancelled() => return Ok(exit::INTERRUPTED),
        }
    };
    let now = Instant::now();
    let start = (now + Duration::from_millis(first.start_in_ms))
        .checked_sub(Duration::from_millis(first.started_ms_ago))
        .unwrap_or(now);

    let (live, _) = watch::channel(Live {
        shape: first.shape.clone(),
        from_secs: first.from_secs,
        paused: false,
    });
    let control: Shared = Arc::new(Mutex::new(Control {
        stop: None,
        lost: None,
        reassign: None,
        halt: interrupt.child_token(),
        live,
    }));
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer_task = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if writer.write(&m).await.is_err() {
                break;
            }
        }
    });
    // Rows of the feeders the manager deals: asked for as users need them.
    let (dealer, dealt) = super::rows::worker_dealer(&tx);
    let reader_task = tokio::spawn(read_manager(reader, control.clone(), dealt));
    let recorder = Arc::new(Recorder::new());
    let ticking = {
        let (tx, control) = (tx.clone(), control.clone());
        drain_every_second(start, recorder.clone(), move |snapshot, _| {
            if tx
                .send(Message::Snapshot {
                    snapshot: Box::new(snapshot),
                })
                .is_err()
            {
                let mut ctl = lock(&control);
                ctl.lost = Some("cannot send to it".into());
                ctl.halt();
            }
        })
    };

    tokio::time::sleep_until(start.into()).await;
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    eprintln!("worker {id}: load started at unix_ms={epoch_ms}");
    // Opened once: a new share goes on where it was. Queue and unique rows
    // are dealt by the manager; random and circular ones take this worker's stripe.
    let stripe = (
        u64::from(first.worker_index),
        u64::from(first.workers.max(1)),
    );
    let opened = match Feeders::open_dealt(feeders, stripe, dealer) {
        Ok(opened) => Some(opened),
        Err(why) => {
            eprintln!("worker {id}: cannot run its share: {why}");
            let _ = tx.send(Message::Failed { reason: why });
            None
        }
    };
    let mut current = first;
    let limit = files::raise_limit();
    while let Some(opened) = opened.clone() {
        let mut workload = workload(&current, registered, opened, stripe, start)?;
        if current.steerable {
            let ctl = lock(&control);
            // This share, from where this workload starts in the run.
            ctl.live
                .send_modify(|live| live.shape = current.shape.clone());
            workload.steer = Some(Steer {
                rx: ctl.live.subscribe(),
                offset_secs: workload_offset(&current, start),
            });
        }
        if let Some(ips) = &cfg.local_ips {
            workload.spec.client.local_ips = ips.clone();
        }
        if workload.spec.client.connections == ConnectionModel::PerUser {
            if let Some(why) = files::too_many(workload.peak_users(), 1, limit) {
                eprintln!("worker {id}: warning: {why}");
            }
        }
        let halt = lock(&control).halt.clone();
        if has_nobody(&workload) && !halt.is_cancelled() {
            eprintln!("worker {id}: its share has no users: idling and reporting");
            let offset = workload_offset(&current, start);
            if idle(&workload, start, offset, &halt).await == Idled::Users {
                eprintln!("worker {id}: steered: its share has users now");
                current.shape = lock(&control).live.borrow().shape.clone();
                continue;
            }
        } else if !halt.is_cancelled() {
            let ran = match prepare(&workload, &recorder, &halt) {
                // The share's clock starts once it is ready to run.
                Ok(ready) => generate(&workload, ready, &recorder, &halt, Instant::now()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = ran {
                eprintln!("worker {id}: cannot run its share: {e}");
                let _ = tx.send(Message::Failed {
                    reason: e.to_string(),
                });
                break;
            }
        }
        let mut ctl = lock(&control);
        if ctl.stop.is_some() || ctl.lost.is_some() || interrupt.is_cancelled() {
            break;
        }
        match ctl.reassign.take() {
            Some(next) => {
                eprintln!("worker {id}: rebalanced: taking a new share");
                ctl.halt = interrupt.child_token();
                current = next;
            }
            None => break,
        }
    }
    ticking.abort();
    let _ = ticking.await;
    let second = start.elapsed().as_secs();
    let _ = tx.send(Message::Snapshot {
        snapshot: Box::new(recorder.drain(second)),
    });
    let _ = tx.send(Message::Done);
    drop(tx);
    let _ = timeout(Duration::from_secs(5), writer_task).await;
    reader_task.abort();
    if let Some(why) = &lock(&control).lost {
        return Err(lost(why));
    }
    if interrupt.is_cancelled() {
        return Ok(exit::INTERRUPTED);
    }
    eprintln!("worker {id}: done");
    Ok(exit::PASSED)
}

/// Checks `--manager` is `HOST:PORT` before anything is tried: a name or an
/// IPv4 address, or a bracketed IPv6 one, and a port from 1 to 65535.
pub fn manager_address(text: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "--manager '{}' is not HOST:PORT (e.g. 10.0.0.5:5557, manager.internal:5557 or [::1]:5557)",
            printable(text, 100)
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    if !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return Err(bad());
    }
    let fine = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        }
    };
    if fine {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Connects, retrying each second until `connect_timeout` (the manager may start later).
async fn connect(cfg: &WorkerConfig, interrupt: &CancellationToken) -> Result<TcpStream, Error> {
    let deadline = Instant::now() + cfg.connect_timeout;
    loop {
        let why = match timeout(Duration::from_secs(5), TcpStream::connect(&cfg.manager)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 5 s".to_string(),
        };
        if Instant::now() >= deadline || interrupt.is_cancelled() {
            return Err(Error::Unreachable(format!(
                "cannot connect to the manager at {}: {why}",
                cfg.manager
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The run second an assignment's workload starts at: 0 for the first
/// share at the start, else now (or its `from_secs`, if later).
fn workload_offset(a: &Assignment, start: Instant) -> u64 {
    let elapsed = start.elapsed().as_secs().max(a.from_secs);
    if a.from_secs == 0 && elapsed < 1 {
        0
    } else {
        elapsed
    }
}

/// The workload of an assignment, resumed `from_secs` into the plan.
fn workload(
    a: &Assignment,
    registered: &[ScenarioDef],
    feeders: Feeders,
    stripe: (u64, u64),
    start: Instant,
) -> Result<Workload, Error> {
    let shape = match workload_offset(a, start) {
        0 => a.shape.clone(),
        elapsed => a.shape.tail_from(elapsed),
    };
    let scenarios = a
        .load
        .selection
        .resolve(registered)
        .map_err(|e| Error::Run(format!("the manager's assignment: {e}")))?;
    Ok(Workload {
        shape,
        host: a.host.clone(),
        spec: a.load.clone(),
        scenarios,
        feeders,
        setup: Arc::new(a.setup.clone()),
        stripe,
        steer: None,
    })
}

async fn read_manager(
    mut reader: FrameReader,
    control: Shared,
    dealt: mpsc::UnboundedSender<super::protocol::RowsDealt>,
) {
    loop {
        let why = match timeout(silence(), reader.read()).await {
            Ok(Ok(Some(Message::Dealt(rows)))) => {
                let _ = dealt.send(rows);
                continue;
            }
            Ok(Ok(Some(Message::Stop { reason }))) => {
                let mut ctl = lock(&control);
                ctl.stop = Some(reason);
                ctl.halt();
                continue;
            }
            Ok(Ok(Some(Message::Assign(next)))) => {
                let mut ctl = lock(&control);
                ctl.reassign = Some(*next);
                ctl.halt();
                continue;
            }
            Ok(Ok(Some(Message::Steer { live }))) => {
                let ctl = lock(&control);
                if live.paused != ctl.live.borrow().paused {
                    eprintln!("worker: {}", if live.paused { "paused" } else { "resumed" });
                }
                ctl.live.send_replace(*live);
                continue;
            }
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => "it closed the connection".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no heartbeat for {} s", silence().as_secs()),
        };
        let mut ctl = lock(&control);
        ctl.lost = Some(why);
        ctl.halt();
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_address_is_host_and_port() {
        for good in [
            "127.0.0.1:5557",
            "manager.internal:1",
            "[::1]:5557",
            "w_1:65535",
        ] {
            assert_eq!(manager_address(good), Ok(()), "{good}");
        }
        for bad in [
            "not a host",
            "127.0.0.1",
            "h:0",
            "h:70000",
            ":5557",
            "[::1:5557",
            "a/b:1",
        ] {
            assert!(
                manager_address(bad).unwrap_err().contains("HOST:PORT"),
                "{bad}"
            );
        }
    }
}
