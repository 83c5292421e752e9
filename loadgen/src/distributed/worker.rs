//! The worker: joins a manager, runs its share of the shape on goose, streams a
//! snapshot every second, takes new shares on rebalance, and stops by itself
//! when the manager is gone.

use super::connection::{split, FrameReader};
use super::protocol::{
    scenario_fingerprint, Assignment, Join, Message, HEARTBEAT_SECS, MISSED_HEARTBEATS,
    PROTOCOL_VERSION,
};
use crate::engine::generate::generate;
use crate::engine::scenario::ScenarioDef;
use crate::engine::ticker::drain_every_second;
use crate::engine::transport::ConnectionModel;
use crate::engine::{files, Workload};
use crate::error::exit;
use crate::metrics::Recorder;
use crate::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

pub struct WorkerConfig {
    pub manager: String,
    pub capacity: u64,
    pub token: String,
    pub name: String,
    /// How long to keep trying to reach the manager.
    pub connect_timeout: Duration,
}

/// What the manager has said, shared by the reader task and the attack loop.
/// Each attack runs under `halt`, cancelled by a stop, a lost manager or a new share.
struct Control {
    stop: Option<String>,
    lost: Option<String>,
    reassign: Option<Assignment>,
    halt: CancellationToken,
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
        name: cfg.name.clone(),
    });
    writer.write(&join).await.map_err(lost)?;
    let id = match timeout(Duration::from_secs(10), reader.read()).await {
        Ok(Ok(Some(Message::Welcome { worker_id }))) => worker_id,
        Ok(Ok(Some(Message::Refused { reason }))) => {
            return Err(Error::Run(format!(
                "the manager refused this worker: {reason}"
            )))
        }
        other => return Err(lost(format!("no welcome: {other:?}"))),
    };
    eprintln!(
        "worker {id} ({}): joined {}, waiting for the start",
        cfg.name, cfg.manager
    );
    let first = loop {
        tokio::select! {
            read = timeout(silence(), reader.read()) => match read {
                Ok(Ok(Some(Message::Assign(assignment)))) => break assignment,
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
    let start = Instant::now() + Duration::from_millis(first.start_in_ms);

    let control: Shared = Arc::new(Mutex::new(Control {
        stop: None,
        lost: None,
        reassign: None,
        halt: interrupt.child_token(),
    }));
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer_task = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if writer.write(&m).await.is_err() {
                break;
            }
        }
    });
    let reader_task = tokio::spawn(read_manager(reader, control.clone()));
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
    let mut current = first;
    let limit = files::raise_limit();
    loop {
        let workload = workload(&current, registered, start)?;
        if workload.spec.connections == ConnectionModel::PerUser {
            if let Some(why) = files::too_many(workload.peak_users(), 1, limit) {
                eprintln!("worker {id}: warning: {why}");
            }
        }
        let halt = lock(&control).halt.clone();
        if !halt.is_cancelled() {
            if let Err(e) = generate(&workload, &recorder, &halt, Instant::now()).await {
                eprintln!("worker {id}: {e}");
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

/// The workload of an assignment, resumed `from_secs` into the plan.
fn workload(a: &Assignment, registered: &[ScenarioDef], start: Instant) -> Result<Workload, Error> {
    let elapsed = start.elapsed().as_secs().max(a.from_secs);
    let shape = if a.from_secs == 0 && elapsed < 1 {
        a.shape.clone()
    } else {
        a.shape.tail_from(elapsed)
    };
    Workload::new(shape, a.host.clone(), a.load.clone(), registered)
        .map_err(|e| Error::Run(format!("the manager's assignment: {e}")))
}

async fn read_manager(mut reader: FrameReader, control: Shared) {
    loop {
        let why = match timeout(silence(), reader.read()).await {
            Ok(Ok(Some(Message::Stop { reason }))) => {
                let mut ctl = lock(&control);
                ctl.stop = Some(reason);
                ctl.halt();
                continue;
            }
            Ok(Ok(Some(Message::Assign(next)))) => {
                let mut ctl = lock(&control);
                ctl.reassign = Some(next);
                ctl.halt();
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
