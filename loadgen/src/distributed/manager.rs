//! The manager: admits workers (version, token, scenarios), splits the shape by
//! capacity, starts everyone on its clock, merges their snapshots into the same
//! live run as a local run, and rebalances when a worker is lost.

use super::admission::{Admission, Event};
use super::listen::accept_loop;
use super::protocol::{
    scenario_fingerprint, Assignment, Message, HEARTBEAT_SECS, MISSED_HEARTBEATS,
};
use super::rows::Pools;
use super::{WorkerState, WorkerSummary};
use crate::author::scenario::ScenarioDef;
use crate::engine::live::LiveRun;
use crate::engine::steer::{Live, LivePlan};
use crate::engine::ticker::Ticker;
use crate::engine::{LoadSpec, RunOutcome, Tick};
use crate::plan::RunPlan;
use crate::shape::{largest_remainder, Shape};
use crate::Error;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// What the manager runs, and for whom.
pub struct ManagerPlan<'a> {
    pub run: &'a RunPlan,
    /// The target, as workers will reach it.
    pub host: String,
    pub expect_workers: u32,
    /// Take workers that join after the start into the split (`--min-workers`).
    pub late_joiners: bool,
    pub join_timeout: Duration,
    pub token: String,
    /// What the run's setup returned (`null` without one): every worker's users get it.
    pub setup: serde_json::Value,
    /// The live plan, when the run may be steered: each change is split
    /// across the workers as the plan was.
    pub steer: Option<LivePlan>,
}

impl ManagerPlan<'_> {
    /// The plan as steered so far (the planned shape when not steerable).
    fn shape_now(&self) -> Shape {
        self.steer
            .as_ref()
            .map_or_else(|| self.run.shape.clone(), |p| p.now().shape)
    }

    /// When the load ends and when a worker that has not said it is done is
    /// no longer waited for, by the plan as steered.
    fn ends(&self, started: Instant) -> (Instant, Instant) {
        let plan_end = started + Duration::from_secs(self.shape_now().total_secs());
        let overdue = plan_end
            + self.run.load.graceful_stop()
            + crate::engine::ending::GIVE_UP_AFTER_CUT
            + Duration::from_secs(LATE_SECS);
        (plan_end, overdue)
    }
}

struct Worker {
    summary: WorkerSummary,
    tx: UnboundedSender<Message>,
    share: crate::shape::Shape,
    last_seen: Instant,
    last_second: Option<u64>,
    active: bool,
    /// Its place among the workers that started the run, of how many (its
    /// feeder stripe; a worker that joined later has none).
    index: u32,
    stripes: u32,
}

/// A second is closed once every active worker has reported it, or this late.
const LATE_SECS: u64 = 5;
/// After asking workers to stop, how long to wait for their last snapshots.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Runs the plan across workers; `on_tick` once a second after the merge,
/// `on_workers` with each worker's figures and current users.
pub async fn run(
    plan: ManagerPlan<'_>,
    listener: TcpListener,
    registered: &[ScenarioDef],
    interrupt: &CancellationToken,
    mut on_tick: impl FnMut(&Tick),
    mut on_workers: impl FnMut(&[(WorkerSummary, u64)]),
) -> Result<RunOutcome, Error> {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let started_flag = Arc::new(AtomicBool::new(false));
    let accept = accept_loop(
        listener,
        Admission {
            events: events_tx,
            token: Arc::new(plan.token.clone()),
            fingerprint: Arc::new(scenario_fingerprint(registered)),
            next_id: Arc::new(AtomicU32::new(1)),
            started: started_flag.clone(),
        },
    );
    let joined = wait_for_workers(&plan, &mut events, interrupt).await;
    let mut workers = match joined {
        Ok(workers) => workers,
        Err(e) => {
            accept.abort();
            return Err(e);
        }
    };
    started_flag.store(!plan.late_joiners, Ordering::SeqCst);
    let stripes = workers.len() as u32;
    for (index, w) in workers.values_mut().enumerate() {
        (w.index, w.stripes) = (index as u32, stripes);
    }

    // Split and start everyone one second from now on the manager's clock.
    let start_delay = Duration::from_secs(1);
    assign(&plan, &mut workers, 0, start_delay, Duration::ZERO);
    let mut ticker = Ticker::new(Instant::now() + start_delay);
    let started = ticker.start();
    let run = plan.run;
    let mut live = LiveRun::new(run);
    // The manager runs the fault actions, on the run's clock.
    live.start_clock(started);
    let mut stop_sent: Option<Instant> = None;
    let mut steered = plan.steer.as_ref().map(|p| {
        let _ = p.started.set(started);
        p.tx.subscribe()
    });
    // Workers end their load by the plan's end and its graceful stop; one
    // that has not said it is done well after that is not waited for. When
    // the load stopped: the plan's end, or the stop sent before it.
    let (mut plan_end, mut overdue) = plan.ends(started);
    // Feeder rows, dealt to the workers whose users ask.
    let mut pools = Pools::default();
    loop {
        tokio::select! {
            changed = async {
                match steered.as_mut() {
                    Some(rx) => rx.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                match changed {
                    Ok(()) => {
                        let now = steered.as_mut().map(|rx| rx.borrow_and_update().clone());
                        if let Some(now) = now {
                            steer_workers(&mut workers, &now);
                            (plan_end, overdue) = plan.ends(started);
                        }
                    }
                    Err(_) => steered = None,
                }
            }
            event = events.recv() => match event {
                Some(event) => on_event(&plan, &mut workers, &mut live, &mut pools, event, started),
                None => break,
            },
            second = ticker.tick() => {
                let silent: Vec<u32> = workers
                    .iter()
                    .filter(|(_, w)| w.active && w.last_seen.elapsed() > silence())
                    .map(|(id, _)| *id)
                    .collect();
                for id in silent {
                    lose(&plan, &mut workers, id, "missed 3 heartbeats", started);
                }
                let reported = workers
                    .values()
                    .filter(|w| w.active)
                    .map(|w| w.last_second.unwrap_or(0))
                    .min()
                    .unwrap_or(second);
                let closable = reported.max(second.saturating_sub(LATE_SECS)).min(second);
                let elapsed_secs = ticker.elapsed_secs();
                let finalized = live.close_through(closable, elapsed_secs);
                let faults = live.fault_events();
                on_tick(&Tick { second, elapsed_secs, aggregator: &live.aggregator, finalized: &finalized, faults: &faults });
                on_workers(&roster(&workers, started));
                if live.stopped_by().is_none() && workers.values().all(|w| !w.active) {
                    break;
                }
                let reason = live
                    .stopped_by()
                    .map(str::to_string)
                    .or_else(|| interrupt.is_cancelled().then(|| "interrupted".to_string()))
                    .or_else(|| (Instant::now() > overdue).then(|| {
                        let late: Vec<String> = workers
                            .iter()
                            .filter(|(_, w)| w.active)
                            .map(|(id, _)| id.to_string())
                            .collect();
                        format!("the plan is over, and worker(s) {} never said they were done", late.join(", "))
                    }));
                match (reason, stop_sent) {
                    (Some(reason), None) => {
                        eprintln!("manager: stopping every worker: {reason}");
                        broadcast(&workers, Message::Stop { reason });
                        stop_sent = Some(Instant::now());
                    }
                    (_, Some(at)) if at.elapsed() > STOP_GRACE => break,
                    _ => {}
                }
                broadcast(&workers, Message::Heartbeat);
            }
        }
        if stop_sent.is_some() && workers.values().all(|w| !w.active) {
            break;
        }
    }
    accept.abort();
    for line in pools.report() {
        eprintln!("manager: {line}");
    }
    // Rates are over the time the load ran: the plan, or until the stop.
    let load_end = stop_sent.map_or(plan_end, |at| at.min(plan_end));
    let elapsed_secs = load_end
        .min(Instant::now())
        .saturating_duration_since(started)
        .as_secs_f64();
    live.close_through(u64::MAX - 1, started.elapsed().as_secs_f64());
    let workers = workers
        .into_values()
        .map(|mut w| {
            w.summary.peak_users = w.share.peak();
            w.summary.rps = w.summary.requests as f64 / elapsed_secs.max(1e-9);
            if w.active {
                w.summary.state = WorkerState::Stopped;
            }
            w.summary
        })
        .collect();
    Ok(live
        .into_outcome(elapsed_secs, interrupt.is_cancelled(), workers)
        .await)
}

fn silence() -> Duration {
    Duration::from_secs(HEARTBEAT_SECS * MISSED_HEARTBEATS)
}

/// Waits for the expected workers, keeping those who joined alive with heartbeats.
async fn wait_for_workers(
    plan: &ManagerPlan<'_>,
    events: &mut UnboundedReceiver<Event>,
    interrupt: &CancellationToken,
) -> Result<BTreeMap<u32, Worker>, Error> {
    let mut workers: BTreeMap<u32, Worker> = BTreeMap::new();
    let deadline = Instant::now() + plan.join_timeout;
    while workers.len() < plan.expect_workers as usize {
        if interrupt.is_cancelled() {
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
                    ..Default::default()
                };
                workers.insert(
                    id,
                    Worker {
                        summary,
                        tx,
                        share: plan.run.shape.clone(),
                        last_seen: Instant::now(),
                        last_second: None,
                        active: true,
                        index: 0,
                        stripes: 1,
                    },
                );
            }
            Ok(Some(Event::Gone { id, .. })) => {
                workers.remove(&id);
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(Error::Run(format!(
                "only {} of {} workers joined within {} s: start them with `loadgen worker --manager <this address>`",
                workers.len(),
                plan.expect_workers,
                plan.join_timeout.as_secs()
            )));
        }
        broadcast(&workers, Message::Heartbeat);
    }
    Ok(workers)
}

/// Takes in one event of a running run.
fn on_event(
    plan: &ManagerPlan<'_>,
    workers: &mut BTreeMap<u32, Worker>,
    live: &mut LiveRun,
    pools: &mut Pools,
    event: Event,
    started: Instant,
) {
    match event {
        Event::Rows { id, wanted } => {
            // A lost worker's users run elsewhere now: it is dealt nothing more.
            if let Some(w) = workers.get_mut(&id).filter(|w| w.active) {
                w.last_seen = Instant::now();
                let _ = w.tx.send(Message::Dealt(pools.deal(&wanted)));
            }
        }
        Event::Returned { id, rows } => {
            if let Some(w) = workers.get_mut(&id) {
                w.last_seen = Instant::now();
                pools.take_back(rows);
            }
        }
        Event::Snapshot { id, snapshot } => {
            let Some(w) = workers.get_mut(&id) else {
                return;
            };
            let requests: u64 = snapshot.endpoints.values().map(|s| s.requests).sum();
            // A lost worker's users run elsewhere now: what it says after
            // (its link healed) would count them twice, or land in seconds
            // already closed. Counted aside, never merged.
            if w.summary.state == WorkerState::Lost || !live.ingest(&snapshot) {
                if w.summary.late_requests == 0 {
                    eprintln!(
                        "manager: worker {id} reported second {} too late (it is {}): not counted",
                        snapshot.second,
                        if w.summary.state == WorkerState::Lost {
                            "lost"
                        } else {
                            "closed"
                        }
                    );
                }
                w.summary.late_requests += requests;
                return;
            }
            for stats in snapshot.endpoints.values() {
                w.summary.requests += stats.requests;
                w.summary.failures += stats.failures;
            }
            w.last_seen = Instant::now();
            w.last_second = Some(
                w.last_second
                    .map_or(snapshot.second, |s| s.max(snapshot.second)),
            );
        }
        Event::Alive { id } => {
            if let Some(w) = workers.get_mut(&id) {
                w.last_seen = Instant::now();
            }
        }
        Event::Done { id } => {
            // A lost worker that finally says it is done stays lost.
            if let Some(w) = workers.get_mut(&id).filter(|w| w.active) {
                w.active = false;
                w.summary.state = WorkerState::Done;
            }
        }
        Event::Gone { id, reason } => lose(plan, workers, id, &reason, started),
        Event::Failed { id, reason } => {
            let name = workers
                .get(&id)
                .map_or_else(String::new, |w| w.summary.name.clone());
            eprintln!("manager: worker {id} ({name}) cannot run its share: {reason}");
            lose(plan, workers, id, &format!("cannot run: {reason}"), started);
        }
        Event::Joined {
            id,
            name,
            address,
            capacity,
            tx,
        } => {
            if !plan.late_joiners {
                let _ = tx.send(Message::Refused {
                    reason: "the run has already started".into(),
                });
                return;
            }
            let at = started.elapsed();
            eprintln!("manager: worker {id} ({name}, {address}, capacity {capacity}) joined at {:.1} s: re-splitting", at.as_secs_f64());
            let stripes = workers.values().map(|w| w.stripes).max().unwrap_or(1);
            let index = workers.len() as u32;
            workers.insert(
                id,
                Worker {
                    summary: WorkerSummary {
                        id,
                        name,
                        address,
                        capacity,
                        ..Default::default()
                    },
                    tx,
                    share: plan.run.shape.clone(),
                    last_seen: Instant::now(),
                    last_second: None,
                    active: true,
                    index,
                    stripes,
                },
            );
            // From the next second on, everyone's share again: exact totals.
            let next = at.as_secs() + 1;
            let wait = Duration::from_secs(next).saturating_sub(at);
            assign(plan, workers, next, wait, at);
        }
    }
}

/// Sends a message to every active worker.
fn broadcast(workers: &BTreeMap<u32, Worker>, message: Message) {
    for w in workers.values().filter(|w| w.active) {
        let _ = w.tx.send(message.clone());
    }
}

/// Each worker's figures so far, and the users its share runs now.
fn roster(workers: &BTreeMap<u32, Worker>, started: Instant) -> Vec<(WorkerSummary, u64)> {
    let at = started.elapsed().as_secs_f64();
    workers
        .values()
        .map(|w| {
            let mut s = w.summary.clone();
            s.peak_users = w.share.peak();
            s.rps = s.requests as f64 / at.max(1.0);
            let users = if w.active {
                w.share.level_at(at).round() as u64
            } else {
                0
            };
            (s, users)
        })
        .collect()
}

/// Splits the shape across the active workers by capacity and sends each its share.
fn assign(
    plan: &ManagerPlan<'_>,
    workers: &mut BTreeMap<u32, Worker>,
    from_secs: u64,
    start_in: Duration,
    run_age: Duration,
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
    let shares = plan.shape_now().split(&capacities);
    let loads = split_load(&plan.run.load, &capacities);
    let live = plan.steer.as_ref().map(LivePlan::now);
    for ((id, share), load) in active.iter().zip(shares).zip(loads) {
        let w = workers.get_mut(id).expect("active worker exists");
        w.share = share.clone();
        w.summary.state = WorkerState::Running;
        let _ = w.tx.send(Message::Assign(Box::new(Assignment {
            shape: share,
            host: plan.host.clone(),
            load,
            start_in_ms: start_in.as_millis() as u64,
            from_secs,
            worker_index: w.index,
            workers: w.stripes,
            setup: plan.setup.clone(),
            started_ms_ago: run_age.as_millis() as u64,
            steerable: live.is_some(),
        })));
        // A paused run stays paused for a worker's new share too.
        if let Some(live) = live.as_ref().filter(|l| l.paused) {
            let _ = w.tx.send(Message::Steer {
                live: Box::new(Live {
                    shape: w.share.clone(),
                    ..live.clone()
                }),
            });
        }
    }
}

/// Splits a change across the active workers by capacity, as the plan was,
/// and sends each its share of the plan as steered.
fn steer_workers(workers: &mut BTreeMap<u32, Worker>, live: &Live) {
    let active: Vec<u32> = workers
        .iter()
        .filter(|(_, w)| w.active)
        .map(|(id, _)| *id)
        .collect();
    let capacities: Vec<u64> = active
        .iter()
        .map(|id| workers[id].summary.capacity)
        .collect();
    for (id, share) in active.iter().zip(live.shape.split(&capacities)) {
        let w = workers.get_mut(id).expect("active worker exists");
        w.share = share.clone();
        let _ = w.tx.send(Message::Steer {
            live: Box::new(Live {
                shape: share,
                ..live.clone()
            }),
        });
    }
}

/// The run's generator options for each worker: the open model's user and
/// queue bounds split by capacity (exact totals), everything else whole.
fn split_load(load: &LoadSpec, capacities: &[u64]) -> Vec<LoadSpec> {
    let part = |total: Option<u64>| match total {
        Some(t) => largest_remainder(t, capacities)
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None; capacities.len()],
    };
    part(load.max_users)
        .into_iter()
        .zip(part(load.max_queue))
        .map(|(max_users, max_queue)| LoadSpec {
            // A worker with a share of the rate needs at least one user for it.
            max_users: max_users.map(|u| u.max(1)),
            max_queue,
            ..load.clone()
        })
        .collect()
}

/// Marks a worker lost and moves its users onto the others.
fn lose(
    plan: &ManagerPlan<'_>,
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
    let moved = w.share.level_at(at).round() as u64;
    w.active = false;
    w.summary.state = WorkerState::Lost;
    w.summary.lost_at_secs = Some(at);
    w.summary.lost_reason = Some(reason.to_string());
    w.summary.users_moved = Some(moved);
    let left = workers.values().filter(|w| w.active).count();
    eprintln!("manager: worker {id} lost at {at:.1} s ({reason}); moving its {moved} users onto {left} worker(s)");
    if left > 0 {
        assign(
            plan,
            workers,
            at as u64,
            Duration::ZERO,
            Duration::from_secs_f64(at),
        );
    }
}
