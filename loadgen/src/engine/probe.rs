//! The closed model's self-check: a task that asks to wake every 10 ms and
//! records how late it woke. When the generator's runtime is starved (CPU,
//! too much work per thread), every user's pause and request start late by
//! about as much, and the figures understate latency.

use crate::metrics::GeneratorMeter;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_millis(10);

/// Runs until the returned task is aborted (or dropped with `AbortOnDrop`).
pub fn spawn(meter: Arc<GeneratorMeter>) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut due = Instant::now() + EVERY;
        loop {
            tokio::time::sleep_until(due.into()).await;
            let now = Instant::now();
            meter.started_late(now.saturating_duration_since(due).as_micros() as u64);
            due += EVERY;
            if due < now {
                // Far behind: measure from here on, not every missed wake.
                due = now + EVERY;
            }
        }
    }))
}

/// Aborts the task when dropped.
pub struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
