//! A run in this process: the workload on goose, its measurements aggregated
//! and judged every second, stopped early by the judges or an interrupt.

use super::generate::{generate, prepare};
use super::live::LiveRun;
use super::steer::LivePlan;
use super::ticker::drain_every_second;
use super::{RunOutcome, Tick, Workload};
use crate::metrics::Recorder;
use crate::Error;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Runs the workload to its end (or until stopped) and returns what was measured.
/// `on_tick` is called once a second, after the second is aggregated and
/// judged. With `steer`, the workload follows that live plan.
pub async fn run(
    mut workload: Workload,
    live: LiveRun,
    steer: Option<LivePlan>,
    interrupt: &CancellationToken,
    mut on_tick: impl FnMut(&Tick) + Send + 'static,
) -> Result<RunOutcome, Error> {
    let recorder = Arc::new(Recorder::new());
    let halt = interrupt.child_token();
    if let Some(plan) = &steer {
        workload.steer = Some(plan.steer());
    }
    // Built before the clock starts, so the setup is not counted as lateness.
    let ready = prepare(&workload, &recorder, &halt)?;
    let started = Instant::now();
    if let Some(plan) = steer {
        let _ = plan.started.set(started);
    }
    let mut live = live;
    live.start_clock(started);
    let live = Arc::new(Mutex::new(live));
    let ticking = {
        let (live, halt) = (live.clone(), halt.clone());
        drain_every_second(started, recorder.clone(), move |snapshot, elapsed_secs| {
            let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
            live.ingest(&snapshot);
            let finalized = live.close_through(snapshot.second, elapsed_secs);
            if live.stopped_by().is_some() {
                halt.cancel();
            }
            let faults = live.fault_events();
            on_tick(&Tick {
                second: snapshot.second,
                elapsed_secs,
                aggregator: &live.aggregator,
                finalized: &finalized,
                faults: &faults,
            });
        })
    };
    let result = generate(&workload, ready, &recorder, &halt, started).await;
    ticking.abort();
    let _ = ticking.await;
    // Rates are over the time the load ran (the plan, or until it was stopped),
    // not the graceful stop after it.
    let elapsed_secs = result?.duration_since(started).as_secs_f64();
    let mut live = Arc::try_unwrap(live)
        .map_err(|_| Error::Run("ticker still running".into()))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    // The last, partial second: whatever was recorded after the final tick.
    let last = live.aggregator.series.last().map_or(0, |p| p.second + 1);
    live.ingest(&recorder.drain(last));
    live.close_through(last, elapsed_secs);
    Ok(live
        .into_outcome(elapsed_secs, interrupt.is_cancelled(), vec![])
        .await)
}
