//! The worker: joins a manager, runs its share of the shape on goose, streams a
//! snapshot every second, takes new shares on rebalance, and stops by itself
//! when the manager is gone.

use super::connection::{split, FrameReader};
use super::protocol::{
    scenario_fingerprint, Message, HEARTBEAT_SECS, MISSED_HEARTBEATS, PROTOCOL_VERSION,
};
use crate::error::exit;
use crate::metrics::Recorder;
use crate::runner::{self, RunOptions};
use crate::scenario::{self, ScenarioDef};
use crate::think::Think;
use crate::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

pub struct WorkerConfig {
    pub manager: String,
    pub capacity: u64,
    pub token: String,
    pub name: String,
    /// How long to keep trying to reach the manager.
    pub connect_timeout: Duration,
}

/// What the manager has said, shared by the reader task and the attack loop.
#[derive(Default)]
struct Control {
    stop: Option<String>,
    lost: Option<String>,
    reassign: Option<Message>,
}

impl Control {
    fn must_halt(&self) -> bool {
        self.stop.is_some() || self.lost.is_some() || self.reassign.is_some()
    }
}

fn silence() -> Duration {
    Duration::from_secs(HEARTBEAT_SECS * MISSED_HEARTBEATS)
}

fn lost(why: impl std::fmt::Display) -> Error {
    Error::Run(format!("lost the manager ({why}): stopped generating load"))
}

pub async fn run(registered: &[ScenarioDef], cfg: WorkerConfig) -> Result<u8, Error> {
    runner::install_interrupt_handler();
    let stream = connect(&cfg).await?;
    let (mut reader, mut writer) = split(stream);
    let join = Message::Join {
        protocol: PROTOCOL_VERSION,
        token: cfg.token.clone(),
        scenarios: scenario_fingerprint(registered),
        capacity: cfg.capacity,
        name: cfg.name.clone(),
    };
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
    let assign = loop {
        match timeout(silence(), reader.read()).await {
            Ok(Ok(Some(m @ Message::Assign { .. }))) => break m,
            Ok(Ok(Some(Message::Stop { reason }))) => {
                eprintln!("worker {id}: stopped before the start: {reason}");
                return Ok(exit::PASSED);
            }
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => return Err(lost("it closed the connection")),
            Ok(Err(e)) => return Err(lost(e)),
            Err(_) => return Err(lost("no heartbeat")),
        }
        if runner::interrupted() {
            return Ok(exit::INTERRUPTED);
        }
    };
    let Message::Assign { start_in_ms, .. } = &assign else {
        unreachable!("matched above")
    };
    let start = Instant::now() + Duration::from_millis(*start_in_ms);

    let control = Arc::new(Mutex::new(Control::default()));
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
    let ticker = tokio::spawn(tick(start, recorder.clone(), tx.clone(), control.clone()));

    tokio::time::sleep_until(start.into()).await;
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    eprintln!("worker {id}: load started at unix_ms={epoch_ms}");
    let mut current = assign;
    loop {
        let opts = options(&current, registered, start)?;
        if !control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .must_halt()
        {
            let attack = runner::goose_attack(&opts, &recorder)?;
            let result = attack.execute().await;
            goose::reset_killswitch();
            if let Err(e) = result {
                eprintln!("worker {id}: goose failed: {e:?}");
            }
        }
        let mut ctl = control.lock().unwrap_or_else(|p| p.into_inner());
        if ctl.stop.is_some() || ctl.lost.is_some() || runner::interrupted() {
            break;
        }
        match ctl.reassign.take() {
            Some(next) => {
                eprintln!("worker {id}: rebalanced: taking a new share");
                current = next;
            }
            None => break,
        }
    }
    ticker.abort();
    let _ = ticker.await;
    let second = start.elapsed().as_secs();
    let _ = tx.send(Message::Snapshot {
        snapshot: recorder.drain(second),
    });
    let _ = tx.send(Message::Done);
    drop(tx);
    let _ = timeout(Duration::from_secs(5), writer_task).await;
    reader_task.abort();
    let ctl = control.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(why) = &ctl.lost {
        return Err(lost(why));
    }
    if runner::interrupted() {
        return Ok(exit::INTERRUPTED);
    }
    eprintln!("worker {id}: done");
    Ok(exit::PASSED)
}

/// Connects, retrying each second until `connect_timeout` (the manager may start later).
async fn connect(cfg: &WorkerConfig) -> Result<TcpStream, Error> {
    let deadline = Instant::now() + cfg.connect_timeout;
    loop {
        let why = match timeout(Duration::from_secs(5), TcpStream::connect(&cfg.manager)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 5 s".to_string(),
        };
        if Instant::now() >= deadline || runner::interrupted() {
            return Err(Error::Unreachable(format!(
                "cannot connect to the manager at {}: {why}",
                cfg.manager
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The run options of an assignment, resumed `from_secs` into the plan.
fn options(
    assign: &Message,
    registered: &[ScenarioDef],
    start: Instant,
) -> Result<RunOptions, Error> {
    let Message::Assign {
        shape,
        host,
        scenarios,
        paths,
        think,
        request_timeout_secs,
        from_secs,
        ..
    } = assign
    else {
        return Err(Error::Run("expected an assignment".into()));
    };
    let mut chosen = Vec::new();
    for name in scenarios {
        if name == "http-get" {
            chosen.push(scenario::http_get(paths));
        } else {
            let def = registered.iter().find(|s| &s.name == name);
            chosen.push(def.cloned().ok_or_else(|| {
                Error::Run(format!("the manager asked for unknown scenario '{name}'"))
            })?);
        }
    }
    let chosen = Think::apply(*think, chosen);
    let elapsed = start.elapsed().as_secs().max(*from_secs);
    let shape = if *from_secs == 0 && elapsed < 1 {
        shape.clone()
    } else {
        shape.tail_from(elapsed)
    };
    Ok(RunOptions {
        shape,
        host: host.clone(),
        scenarios: chosen,
        rules: vec![],
        abort_on_fail: false,
        request_timeout_secs: *request_timeout_secs,
    })
}

async fn read_manager(mut reader: FrameReader, control: Arc<Mutex<Control>>) {
    loop {
        let why = match timeout(silence(), reader.read()).await {
            Ok(Ok(Some(Message::Stop { reason }))) => {
                control.lock().unwrap_or_else(|p| p.into_inner()).stop = Some(reason);
                goose::trigger_killswitch("stopped by the manager");
                continue;
            }
            Ok(Ok(Some(m @ Message::Assign { .. }))) => {
                control.lock().unwrap_or_else(|p| p.into_inner()).reassign = Some(m);
                goose::trigger_killswitch("rebalanced by the manager");
                continue;
            }
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => "it closed the connection".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no heartbeat for {} s", silence().as_secs()),
        };
        control.lock().unwrap_or_else(|p| p.into_inner()).lost = Some(why);
        goose::trigger_killswitch("lost the manager");
        return;
    }
}

/// Every second from the start: send what was measured; keep stop requests in force.
async fn tick(
    start: Instant,
    recorder: Arc<Recorder>,
    tx: mpsc::UnboundedSender<Message>,
    control: Arc<Mutex<Control>>,
) {
    let mut second = 0;
    loop {
        tokio::time::sleep_until((start + Duration::from_secs(second + 1)).into()).await;
        if tx
            .send(Message::Snapshot {
                snapshot: recorder.drain(second),
            })
            .is_err()
        {
            control.lock().unwrap_or_else(|p| p.into_inner()).lost =
                Some("cannot send to it".into());
        }
        if control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .must_halt()
            || runner::interrupted()
        {
            // goose clears the killswitch when an attack starts: keep it set.
            goose::trigger_killswitch("stopping");
        }
        second += 1;
    }
}
