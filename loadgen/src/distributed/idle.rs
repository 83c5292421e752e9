//! A worker whose share has nobody in it (a small plan split across more
//! workers, or by uneven capacities): goose refuses a plan of 0 users, so the
//! worker does not start one. It idles, its per-second snapshots still going
//! out, until its plan ends, the manager halts it or gives it a new share, or
//! a steered level puts users in its share; it counts as healthy throughout.

use crate::engine::steer::Steer;
use crate::engine::Workload;
use crate::shape::LoadModel;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Why an idle share stopped idling.
#[derive(Debug, PartialEq, Eq)]
pub enum Idled {
    /// Its plan ended, or it was halted (a stop, a lost manager, a new share).
    Ended,
    /// Steering gave its share users from this run second on.
    Users,
}

/// Whether a workload has nothing to run: no user at any time (closed), or
/// no user to run an arrival with or no arrival at all (open).
pub fn has_nobody(workload: &Workload) -> bool {
    match workload.shape.model {
        LoadModel::Closed => workload.shape.peak() == 0,
        LoadModel::Open => workload.peak_users() == 0 || workload.shape.peak() == 0,
    }
}

/// Idles through a share with nobody in it, from run second `offset_secs`
/// of the run that started at `run_start`.
pub async fn idle(
    workload: &Workload,
    run_start: Instant,
    offset_secs: u64,
    halt: &CancellationToken,
) -> Idled {
    let planned = |total: u64| run_start + Duration::from_secs(offset_secs + total);
    let mut end = planned(workload.shape.total_secs());
    let mut steer: Option<Steer> = workload.steer.clone();
    loop {
        let changed = async {
            match steer.as_mut() {
                Some(s) => s.rx.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = halt.cancelled() => return Idled::Ended,
            _ = tokio::time::sleep_until(end.into()) => return Idled::Ended,
            alive = changed => {
                if !alive {
                    steer = None;
                    continue;
                }
                let live = steer.as_ref().map(|s| s.rx.borrow().clone());
                let Some(live) = live else { continue };
                // The share as steered: users in it from now on end the idling.
                let now = run_start.elapsed().as_secs().max(live.from_secs);
                if live.shape.rest_from(now).peak() > 0 {
                    return Idled::Users;
                }
                end = run_start + Duration::from_secs(live.shape.total_secs());
            }
        }
    }
}
