//! A task's own measurements: a flow of several requests timed as one
//! (`vu.measure("checkout")` ... `.done()`), recorded like a request under
//! `FLOW <name>` (every table, rules, the Prometheus export; in the open model
//! timed from the arrival's due time as well as from its start; never in the
//! totals, whose requests it already holds), and counters (`vu.count(name, n)`).

use crate::metrics::{FailureKind, Recorder, Sample};
use std::sync::Arc;
use std::time::Instant;

/// The "method" of a task's timed flows in every table: `FLOW <name>`.
pub use crate::metrics::aggregate::FLOW_METHOD;

/// A flow being timed. `done()` records it as a success, `fail(why)` as a
/// failure; dropped without either (a `?` ended the task half way), it is
/// recorded as a failure: the flow did not complete.
#[must_use = "a flow is recorded when it is done (or dropped)"]
pub struct Measure {
    recorder: Arc<Recorder>,
    name: String,
    started: Instant,
    /// Open model: how late the iteration started against its due time.
    lag_us: Option<u64>,
    recorded: bool,
}

impl Measure {
    pub(crate) fn start(recorder: Arc<Recorder>, name: &str, lag_us: Option<u64>) -> Measure {
        Measure {
            recorder,
            name: name.to_string(),
            started: Instant::now(),
            lag_us,
            recorded: false,
        }
    }

    /// The flow completed: recorded with its time.
    pub fn done(mut self) {
        self.record(None);
    }

    /// The flow failed, and why: recorded as a failure of kind `check`.
    pub fn fail(mut self, why: &str) {
        self.record(Some(why));
    }

    fn record(&mut self, failure: Option<&str>) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let service_us = self.started.elapsed().as_micros() as u64;
        self.recorder.record(Sample {
            method: FLOW_METHOD,
            name: &self.name,
            latency_us: service_us + self.lag_us.unwrap_or(0),
            service_us: self.lag_us.map(|_| service_us),
            bytes: 0,
            failure: failure.map(|why| (FailureKind::Check, why)),
            ttfb_us: None,
            status: 0,
            // A flow is not one more request: it stays out of the totals.
            scenario: None,
        });
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        self.record(Some("the flow did not complete (its task ended first)"));
    }
}
