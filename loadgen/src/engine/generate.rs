//! Generates a workload's load in this process, until its plan ends or `halt`
//! is cancelled: users on goose in the closed model, arrivals on the open
//! model's dispatcher; the same for a local run and for a worker's share.
//! Either way the load ends on time ([`super::ending`]).

use super::ending::Ending;
use super::open::{self, OpenLimits};
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
    halt: &CancellationToken,
) -> Result<Arc<VuContext>, Error> {
    let client = Client::new(
        &workload.spec.client,
        &workload.host,
        recorder.connections.clone(),
    )
    .map_err(Error::Usage)?;
    Ok(Arc::new(VuContext::new(
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
    )))
}

/// Runs the load from `start` to the plan's end (or the halt) and its
/// graceful stop; returns when it stopped starting work.
pub async fn generate(
    workload: &Workload,
    recorder: &Arc<Recorder>,
    halt: &CancellationToken,
    start: Instant,
) -> Result<Instant, Error> {
    let mut ending = Ending::new();
    let ctx = context(workload, recorder, ending.cut.clone(), halt)?;
    let plan_end = start + Duration::from_secs(workload.shape.total_secs());
    let grace = workload.spec.graceful_stop();
    let result = match workload.shape.model {
        LoadModel::Closed => {
            let attack = goose::attack(workload, &ctx)?;
            let _bridge = bridge_to_goose(halt.clone(), "stopping");
            let _probe = probe::spawn(recorder.generator.clone());
            ending.watch(halt, plan_end, grace);
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
            ending.watch(halt, plan_end, grace);
            open::run(workload, ctx, limits, halt, start, &ending).await
        }
    };
    result?;
    Ok(ending.stopped_at().unwrap_or_else(Instant::now))
}
