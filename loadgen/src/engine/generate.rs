//! Generates a workload's load in this process, until its plan ends or `halt`
//! is cancelled: users on goose in the closed model, arrivals on the open
//! model's dispatcher; the same for a local run and for a worker's share.
//! Either way the load ends on time ([`super::ending`]).

use super::ending::Ending;
use super::open::{self, OpenLimits};
use super::steer_goose::{follow_on_goose, free_loopback_port};
use super::stop::bridge_to_goose;
use super::{goose, probe, Workload};
use crate::author::context::VuContext;
use crate::client::Client;
use crate::metrics::Recorder;
use crate::shape::LoadModel;
use crate::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What every virtual user of this workload shares: the recorder, the
/// client, and the cut that ends requests still in flight at the end.
pub fn context(
    workload: &Workload,
    recorder: &Arc<Recorder>,
    cut: CancellationToken,
    stopping: CancellationToken,
    halt: &CancellationToken,
) -> Result<Arc<VuContext>, Error> {
    let client = Client::new(
        &workload.spec.client,
        &workload.host,
        recorder.connections.clone(),
    )
    .map_err(Error::Usage)?;
    Ok(Arc::new(
        VuContext::new(
            recorder.clone(),
            client,
            workload.spec.request_timeout(),
            cut,
            workload.spec.graceful_stop(),
            workload.spec.headers.clone(),
            workload.feeders.clone(),
            workload.setup.clone(),
            halt.clone(),
            u32::try_from(workload.stripe.0).unwrap_or(u32::MAX),
        )
        .steered(workload.steer.clone(), stopping),
    ))
}

/// A workload made ready to run: its users' shared context (the client,
/// TLS roots included), the ending that stops them and, in the open model,
/// goose's parts for its users. Built before the run's clock starts: an
/// arrival due in the first milliseconds is otherwise counted late by the
/// generator's own setup, and a short quiet run said it fell behind.
pub struct Ready {
    ending: Ending,
    ctx: Arc<VuContext>,
    open: Option<open::Ready>,
}

pub fn prepare(
    workload: &Workload,
    recorder: &Arc<Recorder>,
    halt: &CancellationToken,
) -> Result<Ready, Error> {
    let ending = Ending::new();
    let ctx = context(
        workload,
        recorder,
        ending.cut.clone(),
        ending.stopping.clone(),
        halt,
    )?;
    let open = match workload.shape.model {
        LoadModel::Closed => None,
        LoadModel::Open => Some(open::Ready::new(workload, ctx.clone())?),
    };
    Ok(Ready { ending, ctx, open })
}

/// Runs the load from `start` to the plan's end (or the halt) and its
/// graceful stop; returns when it stopped starting work.
pub async fn generate(
    workload: &Workload,
    ready: Ready,
    recorder: &Arc<Recorder>,
    halt: &CancellationToken,
    start: Instant,
) -> Result<Instant, Error> {
    let Ready {
        mut ending,
        ctx,
        open,
    } = ready;
    let planned_end = start + Duration::from_secs(workload.shape.total_secs());
    let plan_end = match &workload.steer {
        Some(steer) => steer.plan_end(start, planned_end),
        None => tokio::sync::watch::channel(planned_end).1,
    };
    let grace = workload.spec.graceful_stop();
    let result = match workload.shape.model {
        LoadModel::Closed => {
            // A steered run's users are changed through goose's own
            // controller, on a loopback port of its own.
            let controller = workload
                .steer
                .as_ref()
                .and_then(|steer| Some((steer.clone(), free_loopback_port()?)));
            let attack = goose::attack(workload, &ctx, controller.as_ref().map(|c| c.1))?;
            let _follow = controller.map(|(steer, port)| {
                AbortOnDrop(tokio::spawn(follow_on_goose(steer, port, start)))
            });
            // A steered plan may end sooner than goose's own: its end stops goose.
            let goose_stop = halt.child_token();
            if workload.steer.is_some() {
                let (stopping, stop) = (ending.stopping.clone(), goose_stop.clone());
                tokio::spawn(async move {
                    stopping.cancelled().await;
                    stop.cancel();
                });
            }
            let _bridge = bridge_to_goose(goose_stop, "stopping");
            let _probe = probe::spawn(recorder.generator.clone());
            ending.watch_moving(halt, plan_end, grace);
            tokio::select! {
                done = attack.execute() => done
                    .map(|_| ())
                    .map_err(|e| Error::Run(format!("goose failed: {e:?}"))),
                _ = ending.given_up() => {
                    eprintln!("loadgen: the users did not stop after the plan's end: leaving them");
                    Ok(())
                }
            }
        }
        LoadModel::Open => {
            let limits = OpenLimits {
                max_users: workload.spec.max_users.unwrap_or(1).max(1),
                max_queue: workload.spec.max_queue.unwrap_or(0),
            };
            ending.watch_moving(halt, plan_end, grace);
            let ready = match open {
                Some(ready) => ready,
                None => open::Ready::new(workload, ctx)?,
            };
            open::run(workload, ready, limits, halt, start, &ending).await
        }
    };
    result?;
    Ok(ending.stopped_at().unwrap_or_else(Instant::now))
}

/// A task that ends with the load it serves.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
