//! The open model: iterations start at the shape's rate, whatever the target
//! does. Each arrival goes to a free user of its scenario (scenarios picked by
//! weight; users made on demand up to `--max-users`, each running its on-start
//! tasks first); with none free it waits in order (up to `--max-queue`, then
//! it is dropped and counted). An iteration is one task, picked by weight, and
//! its requests are timed from the arrival's due time as well as from their send.
//!
//! Arrivals are dispatched from a thread of their own, which sleeps precisely
//! (a timed wait on its inbox, not the async timer's 1 ms wheel). The
//! generator's start lag of an arrival is how late the dispatcher saw it due,
//! plus how long the user it was handed to took to start it: a runtime short
//! of CPU (its users too many for its cores, or other processes on them)
//! starts handed work late even when the dispatcher keeps its schedule. Time
//! spent waiting for a free user is the target's, not lag.

use super::arrivals::Schedule;
use super::ending::Ending;
use super::steer::Steer;
use super::Workload;
use crate::author::context::{self, VuContext};
use crate::author::runner::{self, TaskRunner};
use crate::author::scenario::{ScenarioDef, TaskDef, When};
use crate::Error;
use goose::config::GooseConfiguration;
use goose::goose::GooseUser;
use std::collections::VecDeque;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The open model's bounds, from `--max-users` and `--max-queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenLimits {
    /// The most users busy (or alive) at once, across scenarios.
    pub max_users: u64,
    /// The most arrivals waiting for a free user before new ones are dropped.
    pub max_queue: u64,
}

/// One arrival: when it was due.
struct Arrival {
    due: Instant,
    /// How late the dispatcher saw it due (us).
    seen_late_us: u64,
    /// When it was handed to its user.
    handed: Instant,
}

impl Arrival {
    /// Handed to a user now (from the queue, or at once).
    fn handed_now(self) -> Arrival {
        Arrival {
            handed: Instant::now(),
            ..self
        }
    }
}

/// A user telling the dispatcher it is free again.
struct Idle {
    scenario: usize,
    user: usize,
}

/// What a scenario's users run: its weighted tasks, and its on-start and
/// on-stop tasks.
struct Persona {
    name: Arc<str>,
    on_start: Vec<TaskRunner>,
    on_stop: Vec<TaskRunner>,
    tasks: Vec<(usize, TaskRunner)>,
    total_weight: usize,
}

impl Persona {
    fn of(def: &ScenarioDef, ctx: &Arc<VuContext>) -> Persona {
        let persona = runner::persona_of(def);
        let runner = |t: &TaskDef| TaskRunner::new(t, ctx, &persona);
        let when = |w: When| def.tasks().filter(move |t| t.when == w);
        let tasks: Vec<(usize, TaskRunner)> =
            when(When::Loop).map(|t| (t.weight, runner(t))).collect();
        Persona {
            name: Arc::from(def.name.as_str()),
            on_start: when(When::Start).map(runner).collect(),
            on_stop: when(When::Stop).map(runner).collect(),
            total_weight: tasks.iter().map(|(w, _)| w).sum::<usize>().max(1),
            tasks,
        }
    }

    /// A task picked by weight.
    fn pick(&self) -> Option<&TaskRunner> {
        let mut at = rand::random_range(0..self.total_weight);
        self.tasks.iter().find_map(|(w, f)| {
            if at < *w {
                Some(f)
            } else {
                at -= w;
                None
            }
        })
    }
}

/// Smooth weighted round robin (as nginx picks upstreams): over any run of
/// arrivals each scenario gets its share of them, within one.
struct Rotation {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl Rotation {
    fn new(weights: &[usize]) -> Rotation {
        let weights: Vec<i64> = weights.iter().map(|&w| w.max(1) as i64).collect();
        Rotation {
            total: weights.iter().sum(),
            current: vec![0; weights.len()],
            weights,
        }
    }

    fn next(&mut self) -> usize {
        for (c, w) in self.current.iter_mut().zip(&self.weights) {
            *c += w;
        }
        let best = (0..self.current.len())
            .max_by_key(|&i| (self.current[i], std::cmp::Reverse(i)))
            .unwrap_or(0);
        self.current[best] -= self.total;
        best
    }
}

/// What the open model builds before the run's clock starts: goose's
/// configuration, its idle client and the personas (tens of milliseconds in a
/// debug build), so the first arrivals are not counted late by the generator's
/// own setup.
pub struct Ready {
    factory: UserFactory,
    weights: Vec<usize>,
}

impl Ready {
    pub fn new(workload: &Workload, ctx: Arc<VuContext>) -> Result<Ready, Error> {
        let config = GooseConfiguration::parse_args_default::<&str>(&[])
            .map_err(|e| Error::Usage(format!("goose refused the configuration: {e:?}")))?;
        let base = reqwest::Url::parse(&workload.host)
            .map_err(|e| Error::Usage(format!("--host '{}': {e}", workload.host)))?;
        let client = super::goose::idle_client()?;
        let personas: Vec<Arc<Persona>> = workload
            .scenarios
            .iter()
            .map(|s| Arc::new(Persona::of(s, &ctx)))
            .collect();
        Ok(Ready {
            factory: UserFactory {
                handle: Handle::current(),
                ctx,
                personas,
                config,
                base,
                client,
            },
            weights: workload.scenarios.iter().map(|s| s.weight).collect(),
        })
    }
}

/// Runs the workload's rate shape until it ends or `halt` is cancelled, then
/// lets the iterations in flight finish (their requests are cut after the
/// graceful stop, and the users given up on shortly after).
pub async fn run(
    workload: &Workload,
    ready: Ready,
    limits: OpenLimits,
    halt: &CancellationToken,
    start: Instant,
    ending: &Ending,
) -> Result<(), Error> {
    let Ready { factory, weights } = ready;
    let caps = crate::shape::largest_remainder(
        limits.max_users,
        &weights.iter().map(|&w| w as u64).collect::<Vec<_>>(),
    );
    let dispatcher = Dispatcher {
        schedule: Schedule::new(&workload.shape),
        origin: 0.0,
        switch: None,
        followed: workload
            .steer
            .as_ref()
            .map_or_else(|| workload.shape.clone(), |s| s.rx.borrow().shape.clone()),
        steer: workload.steer.clone(),
        end: start + Duration::from_secs(workload.shape.total_secs()),
        start,
        rotation: Rotation::new(&weights),
        caps,
        max_queue: limits.max_queue,
        halt: halt.clone(),
    };
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("loadgen-arrivals".into())
        .spawn(move || {
            let users = dispatcher.run(factory);
            let _ = done_tx.send(users);
        })
        .map_err(|e| Error::Run(format!("cannot start the arrivals thread: {e}")))?;
    let users = done_rx
        .await
        .map_err(|_| Error::Run("the arrivals thread failed".into()))?;
    // Users see their inbox close, finish the iteration in hand, and stop.
    tokio::select! {
        _ = async {
            for user in users {
                let _ = user.await;
            }
        } => {}
        _ = ending.given_up() => {}
    }
    Ok(())
}

/// Makes users: each a task owning a goose user, run on the async runtime.
struct UserFactory {
    handle: Handle,
    ctx: Arc<VuContext>,
    personas: Vec<Arc<Persona>>,
    config: GooseConfiguration,
    base: reqwest::Url,
    client: reqwest::Client,
}

impl UserFactory {
    fn spawn(
        &self,
        scenario: usize,
        id: usize,
        idle: std_mpsc::Sender<Idle>,
    ) -> Option<(mpsc::Sender<Arrival>, JoinHandle<()>)> {
        let persona = self.personas[scenario].clone();
        let user = GooseUser::new(
            scenario,
            persona.name.clone(),
            self.base.clone(),
            &self.config,
            0,
            Some(self.client.clone()),
        )
        .ok()?;
        let (tx, rx) = mpsc::channel(1);
        let task = self.handle.spawn(user_main(
            user,
            persona,
            self.ctx.clone(),
            rx,
            idle,
            (scenario, id),
        ));
        Some((tx, task))
    }
}

/// One user: its on-start tasks, then an iteration per arrival it is handed.
async fn user_main(
    mut user: GooseUser,
    persona: Arc<Persona>,
    ctx: Arc<VuContext>,
    mut inbox: mpsc::Receiver<Arrival>,
    idle: std_mpsc::Sender<Idle>,
    (scenario, id): (usize, usize),
) {
    ctx.recorder.user_started();
    for task in &persona.on_start {
        task.run(&mut user).await;
    }
    while let Some(arrival) = inbox.recv().await {
        let start_delay = arrival.handed.elapsed().as_micros() as u64;
        ctx.recorder
            .generator
            .started_late(arrival.seen_late_us + start_delay);
        if let Some(task) = persona.pick() {
            let lag = arrival.due.elapsed().as_micros() as u64;
            context::state(&mut user).lag_us = Some(lag);
            task.run(&mut user).await;
            context::state(&mut user).lag_us = None;
        }
        if idle.send(Idle { scenario, user: id }).is_err() {
            break;
        }
    }
    for task in &persona.on_stop {
        task.run(&mut user).await;
    }
    ctx.recorder.user_stopped();
}

/// The arrivals thread's state.
struct Dispatcher {
    schedule: Schedule,
    /// Seconds from `start` at which `schedule` starts (after a steered change).
    origin: f64,
    /// A steered change not yet in force: from when, and its schedule.
    switch: Option<(f64, Schedule)>,
    steer: Option<Steer>,
    /// The live plan as last followed.
    followed: crate::shape::Shape,
    start: Instant,
    /// The end of the plan: arrivals still waiting then are dropped.
    end: Instant,
    rotation: Rotation,
    /// Per scenario: the most users it may have.
    caps: Vec<u64>,
    max_queue: u64,
    halt: CancellationToken,
}

/// Per scenario: its users' inboxes, which of them are free, and its waiting arrivals.
#[derive(Default)]
struct Pool {
    inboxes: Vec<mpsc::Sender<Arrival>>,
    free: Vec<usize>,
    waiting: VecDeque<Arrival>,
}

impl Dispatcher {
    /// The arrivals due by `elapsed` seconds, as instants: from the schedule
    /// in force, switching to a steered plan's at the second it applies
    /// from. While paused they are let go: a pause starts none.
    fn due_by(&mut self, next: &mut u64, elapsed: f64) -> Vec<Instant> {
        if let Some(steer) = self.steer.as_mut() {
            if let Some((from, rest)) = steer.take_change(&mut self.followed) {
                self.end = self.start + Duration::from_secs(from + rest.total_secs());
                self.switch = Some((from as f64, Schedule::new(&rest)));
            }
        }
        let mut due = Vec::new();
        loop {
            let upto = self
                .switch
                .as_ref()
                .map_or(elapsed, |(from, _)| elapsed.min(*from));
            for (_, at) in self.schedule.due_until(next, upto - self.origin) {
                due.push(self.start + Duration::from_secs_f64(self.origin + at));
            }
            match self.switch.take() {
                Some((from, schedule)) if elapsed >= from => {
                    self.schedule = schedule;
                    self.origin = from;
                    *next = 0;
                }
                pending => {
                    self.switch = pending;
                    break;
                }
            }
        }
        if self.steer.as_ref().is_some_and(Steer::paused) {
            due.clear();
        }
        due
    }

    /// Dispatches every arrival of the schedule; returns the users' tasks.
    fn run(mut self, factory: UserFactory) -> Vec<JoinHandle<()>> {
        let meter = factory.ctx.recorder.generator.clone();
        let (idle_tx, idle_rx) = std_mpsc::channel::<Idle>();
        let mut pools: Vec<Pool> = self.caps.iter().map(|_| Pool::default()).collect();
        let mut tasks = Vec::new();
        let mut waiting_total = 0u64;
        let mut next = 0u64;
        loop {
            if self.halt.is_cancelled() {
                break;
            }
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
            for due in self.due_by(&mut next, elapsed) {
                meter.arrival();
                let s = self.rotation.next();
                let pool = &mut pools[s];
                let arrival = Arrival {
                    due,
                    seen_late_us: now.saturating_duration_since(due).as_micros() as u64,
                    handed: now,
                };
                if let Some(user) = pool.free.pop() {
                    let _ = pool.inboxes[user].try_send(arrival);
                } else if (pool.inboxes.len() as u64) < self.caps[s] {
                    let id = pool.inboxes.len();
                    if let Some((inbox, task)) = factory.spawn(s, id, idle_tx.clone()) {
                        let _ = inbox.try_send(arrival);
                        pool.inboxes.push(inbox);
                        tasks.push(task);
                    } else {
                        meter.dropped();
                    }
                } else if waiting_total < self.max_queue {
                    pool.waiting.push_back(arrival);
                    waiting_total += 1;
                } else {
                    meter.dropped();
                }
            }
            meter.set_queued(waiting_total);
            // A steered plan may start arrivals again: it runs to its end.
            let finished =
                self.steer.is_none() && next >= self.schedule.total() && waiting_total == 0;
            if finished || now >= self.end {
                break;
            }
            // Sleep until the next arrival is due, or a user is free.
            let wake = self
                .schedule
                .due(next)
                .map(|d| self.start + Duration::from_secs_f64(self.origin + d))
                .unwrap_or(self.end)
                .min(now + Duration::from_millis(50));
            let mut timeout = wake.saturating_duration_since(Instant::now());
            while let Ok(Idle { scenario, user }) = idle_rx.recv_timeout(timeout) {
                let pool = &mut pools[scenario];
                match pool.waiting.pop_front() {
                    Some(arrival) => {
                        waiting_total -= 1;
                        meter.set_queued(waiting_total);
                        let _ = pool.inboxes[user].try_send(arrival.handed_now());
                    }
                    None => pool.free.push(user),
                }
                timeout = wake.saturating_duration_since(Instant::now());
                if timeout.is_zero() {
                    break;
                }
            }
        }
        // Arrivals that never found a user by the end were not run: dropped.
        for _ in 0..waiting_total {
            meter.dropped();
        }
        meter.set_queued(0);
        tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rotation_gives_each_scenario_its_share() {
        let mut r = Rotation::new(&[3, 1, 1]);
        let picks: Vec<usize> = (0..500).map(|_| r.next()).collect();
        let count = |s| picks.iter().filter(|&&p| p == s).count();
        assert_eq!((count(0), count(1), count(2)), (300, 100, 100));
        // Spread out, not in runs: no scenario waits more than its turn.
        assert!(picks.windows(5).all(|w| w.contains(&0)));
    }
}
