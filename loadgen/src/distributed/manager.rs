//! The manager: admits workers (version, token, scenarios), splits the shape by
//! capacity, starts everyone on its clock, merges their snapshots into the same
//! live run as a local run, and rebalances when a worker is lost.

use super::admission::{admit, Event};
use super::protocol::{scenario_fingerprint, Message, HEARTBEAT_SECS, MISSED_HEARTBEATS};
use super::WorkerSummary;
use crate::live::LiveRun;
use crate::runner::{self, RunOutcome, Tick};
use crate::scenario::ScenarioDef;
use crate::shape::Shape;
use crate::think::Think;
use crate::threshold::Rule;
use crate::Error;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::time::timeout;

/// What the manager runs, and for whom.
pub struct ManagerPlan {
    pub shape: Shape,
    pub host: String,
    pub scenarios: Vec<String>,
    pub paths: Vec<String>,
    pub think: Option<Think>,
    pub rules: Vec<Rule>,
    pub abort_on_fail: bool,
    pub request_timeout_secs: u64,
    pub expect_workers: u32,
    pub join_timeout: Duration,
    pub token: String,
}

struct Worker {
    summary: WorkerSummary,
    tx: UnboundedSender<Message>,
    share: Shape,
    last_seen: Instant,
    last_second: Option<u64>,
    active: bool,
}

pub async fn run(
    plan: ManagerPlan,
    listener: TcpListener,
    registered: &[ScenarioDef],
    mut on_tick: impl FnMut(&Tick),
    mut on_workers: impl FnMut(&[(WorkerSummary, u64)]),
) -> Result<RunOutcome, Error> {
    runner::install_interrupt_handler();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let started_flag = Arc::new(AtomicBool::new(false));
    let accept = {
        let (token, fingerprint) = (
            Arc::new(plan.token.clone()),
            Arc::new(scenario_fingerprint(registered)),
        );
        let (next_id, started) = (Arc::new(AtomicU32::new(1)), started_flag.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(admit(
                    stream,
                    events_tx.clone(),
                    token.clone(),
                    fingerprint.clone(),
                    next_id.clone(),
                    started.clone(),
                ));
            }
        })
    };

    // Wait for the expected workers.
    let mut workers: BTreeMap<u32, Worker> = BTreeMap::new();
    let deadline = Instant::now() + plan.join_timeout;
    while workers.len() < plan.expect_workers as usize {
        if runner::interrupted() {
            accept.abort();
            return Err(Error::Run("interrupted while waiting for workers".into()));
        }
        match timeout(Duration::from_millis(200), events.recv()).await {
            Ok(Some(Event::Joined {
                id,
                name,
                address,
                capacity,
                tx,
            })) => {
                eprintln!(
                    "manager: worker {id} ({name}, {address}, capacity {capacity}) joined: {}/{}",
                    workers.len() + 1,
                    plan.expect_workers
                );
                let summary = WorkerSummary {
                    id,
                    name,
                    address,
                    capacity,
                    state: "joined".into(),
                    ..Default::default()
                };
                workers.insert(
                    id,
                    Worker {
                        summary,
                        tx,
                        share: plan.shape.clone(),
                        last_seen: Instant::now(),
                        last_second: None,
                        active: true,
                    },
                );
            }
            Ok(Some(Event::Gone { id, .. })) => {
                workers.remove(&id);
            }
            _ => {}
        }
        if Instant::now() > deadline {
            accept.abort();
            return Err(Error::Run(format!(
                "only {} of {} workers joined within {} s: start them with `loadgen worker --manager <this address>`",
                workers.len(),
                plan.expect_workers,
                plan.join_timeout.as_secs()
            )));
        }
        for w in workers.values() {
            let _ = w.tx.send(Message::Heartbeat);
        }
    }
    started_flag.store(true, Ordering::SeqCst);

    // Split and start everyone one second from now on the manager's clock.
    let start_delay = Duration::from_secs(1);
    assign(&plan, &mut workers, 0, start_delay);
    let started = Instant::now() + start_delay;
    let mut live = LiveRun::new(&plan.shape, &plan.rules, plan.abort_on_fail);
    let mut second = 0u64;
    let mut stop_sent: Option<Instant> = None;
    loop {
        let next_tick = started + Duration::from_secs(second + 1);
        tokio::select! {
            event = events.recv() => match event {
                Some(Event::Snapshot { id, snapshot }) => {
                    if let Some(w) = workers.get_mut(&id) {
                        let total = snapshot.total();
                        w.summary.requests += total.requests;
                        w.summary.failures += total.failures;
                        w.last_seen = Instant::now();
                        w.last_second = Some(w.last_second.map_or(snapshot.second, |s| s.max(snapshot.second)));
                    }
                    live.ingest(&snapshot);
                }
                Some(Event::Alive { id }) => { if let Some(w) = workers.get_mut(&id) { w.last_seen = Instant::now(); } }
                Some(Event::Done { id }) => { if let Some(w) = workers.get_mut(&id) { w.active = false; w.summary.state = "done".into(); } }
                Some(Event::Gone { id, reason }) => lose(&plan, &mut workers, id, &reason, started),
                Some(Event::Joined { tx, .. }) => { let _ = tx.send(Message::Refused { reason: "the run has already started".into() }); }
                None => break,
            },
            _ = tokio::time::sleep_until(next_tick.into()) => {
                let silent: Vec<u32> = workers.iter().filter(|(_, w)| w.active && w.last_seen.elapsed() > Duration::from_secs(HEARTBEAT_SECS * MISSED_HEARTBEATS)).map(|(id, _)| *id).collect();
                for id in silent {
                    lose(&plan, &mut workers, id, "missed 3 heartbeats", started);
                }
                // Close a second once every active worker has reported it, or 5 s late.
                let reported = workers.values().filter(|w| w.active).map(|w| w.last_second.unwrap_or(0)).min().unwrap_or(second);
                let closable = reported.max(second.saturating_sub(5)).min(second);
                let finalized = live.close_through(closable, started.elapsed().as_secs_f64());
                on_tick(&Tick { second, elapsed_secs: started.elapsed().as_secs_f64(), aggregator: &live.aggregator, finalized: &finalized });
                on_workers(&roster(&workers, started));
                if live.stopped_by.is_none() && workers.values().all(|w| !w.active) {
                    break;
                }
                let reason = live.stopped_by.clone().or_else(|| runner::interrupted().then(|| "interrupted".to_string()));
                match (reason, stop_sent) {
                    (Some(reason), None) => {
                        eprintln!("manager: stopping every worker: {reason}");
                        for w in workers.values().filter(|w| w.active) {
                            let _ = w.tx.send(Message::Stop { reason: reason.clone() });
                        }
                        stop_sent = Some(Instant::now());
                    }
                    (_, Some(at)) if at.elapsed() > Duration::from_secs(10) || workers.values().all(|w| !w.active) => break,
                    _ => {}
                }
                for w in workers.values().filter(|w| w.active) {
                    let _ = w.tx.send(Message::Heartbeat);
                }
                second += 1;
            }
        }
        if stop_sent.is_some() && workers.values().all(|w| !w.active) {
            break;
        }
    }
    accept.abort();
    let elapsed_secs = started.elapsed().as_secs_f64();
    live.close_through(u64::MAX - 1, elapsed_secs);
    let workers = workers
        .into_values()
        .map(|mut w| {
            w.summary.peak_users = w.share.peak_users();
            w.summary.rps = w.summary.requests as f64 / elapsed_secs.max(1e-9);
            if w.active {
                w.summary.state = "stopped".into();
            }
            w.summary
        })
        .collect();
    Ok(RunOutcome {
        breaking_point: live.breaking_point(),
        stopped_by: live.stopped_by.clone(),
        aggregator: live.aggregator,
        elapsed_secs,
        interrupted: runner::interrupted(),
        workers,
    })
}

/// Each worker's figures so far, and the users its share runs now.
fn roster(workers: &BTreeMap<u32, Worker>, started: Instant) -> Vec<(WorkerSummary, u64)> {
    let at = started.elapsed().as_secs_f64();
    workers
        .values()
        .map(|w| {
            let mut s = w.summary.clone();
            s.peak_users = w.share.peak_users();
            s.rps = s.requests as f64 / at.max(1.0);
            let users = if w.active {
                w.share.users_at(at).round() as u64
            } else {
                0
            };
            (s, users)
        })
        .collect()
}

/// Splits the shape across the active workers by capacity and sends each its share.
fn assign(
    plan: &ManagerPlan,
    workers: &mut BTreeMap<u32, Worker>,
    from_secs: u64,
    start_in: Duration,
) {
    let active: Vec<u32> = workers
        .iter()
        .filter(|(_, w)| w.active)
        .map(|(id, _)| *id)
        .collect();
    let capacities: Vec<u64> = active
        .iter()
        .map(|id| workers[id].summary.capacity)
        .collect();
    for (id, share) in active.iter().zip(plan.shape.split(&capacities)) {
        let w = workers.get_mut(id).expect("active worker exists");
        w.share = share.clone();
        w.summary.state = "running".into();
        let _ = w.tx.send(Message::Assign {
            shape: share,
            host: plan.host.clone(),
            scenarios: plan.scenarios.clone(),
            paths: plan.paths.clone(),
            think: plan.think,
            request_timeout_secs: plan.request_timeout_secs,
            start_in_ms: start_in.as_millis() as u64,
            from_secs,
        });
    }
}

/// Marks a worker lost and moves its users onto the others.
fn lose(
    plan: &ManagerPlan,
    workers: &mut BTreeMap<u32, Worker>,
    id: u32,
    reason: &str,
    started: Instant,
) {
    let Some(w) = workers.get_mut(&id) else {
        return;
    };
    if !w.active {
        return;
    }
    let at = started.elapsed().as_secs_f64();
    let moved = w.share.users_at(at).round() as u64;
    w.active = false;
    w.summary.state = "lost".into();
    w.summary.lost_at_secs = Some(at);
    w.summary.lost_reason = Some(reason.to_string());
    w.summary.users_moved = Some(moved);
    let left = workers.values().filter(|w| w.active).count();
    eprintln!("manager: worker {id} lost at {at:.1} s ({reason}); moving its {moved} users onto {left} worker(s)");
    if left > 0 {
        assign(plan, workers, at as u64, Duration::ZERO);
    }
}
