//! Generates a workload's load in this process, until its plan ends or `halt`
//! is cancelled: users on goose in the closed model, arrivals on the open
//! model's dispatcher; the same for a local run and for a worker's share.

use super::open::{self, OpenLimits};
use super::stop::bridge_to_goose;
use super::transport::{Transport, VuContext};
use super::{goose, probe, Workload};
use crate::metrics::Recorder;
use crate::shape::LoadModel;
use crate::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What every virtual user of this workload shares: the recorder and the transport.
pub fn context(workload: &Workload, recorder: &Arc<Recorder>) -> Result<Arc<VuContext>, Error> {
    let transport = Transport::new(
        workload.spec.connections,
        &workload.host,
        Duration::from_secs(workload.spec.request_timeout_secs),
    )
    .map_err(Error::Usage)?;
    Ok(Arc::new(VuContext {
        recorder: recorder.clone(),
        transport,
    }))
}

pub async fn generate(
    workload: &Workload,
    recorder: &Arc<Recorder>,
    halt: &CancellationToken,
    start: Instant,
) -> Result<(), Error> {
    let ctx = context(workload, recorder)?;
    match workload.shape.model {
        LoadModel::Closed => {
            let attack = goose::attack(workload, &ctx)?;
            let _bridge = bridge_to_goose(halt.clone(), "stopping");
            let _probe = probe::spawn(recorder.generator.clone());
            attack
                .execute()
                .await
                .map(|_| ())
                .map_err(|e| Error::Run(format!("goose failed: {e:?}")))
        }
        LoadModel::Open => {
            let limits = OpenLimits {
                max_users: workload.spec.max_users.unwrap_or(1).max(1),
                max_queue: workload.spec.max_queue.unwrap_or(0),
            };
            open::run(workload, ctx, limits, halt, start).await
        }
    }
}
