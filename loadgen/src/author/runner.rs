//! One task run on one user, its own failures recorded: the bridge between a
//! scenario's tasks and the engine that schedules them (goose's users in the
//! closed model, the dispatcher's in the open one).

use super::context::VuContext;
use super::scenario::TaskFn;
use super::task_error::Ended;
use super::vu::Vu;
use crate::metrics::{FailureKind, Sample};
use goose::goose::GooseUser;
use std::sync::Arc;
use std::time::Instant;

/// One task of a scenario, ready to run on any of its users.
pub(crate) struct TaskRunner {
    pub f: TaskFn,
    pub name: String,
    pub ctx: Arc<VuContext>,
}

impl TaskRunner {
    /// Runs the task on `user`. An error of the task's own (not a failed
    /// request, recorded already; not the end of the run) is recorded as a
    /// `task` failure under `TASK <name>`, so it is counted and shown.
    pub async fn run(&self, user: &mut GooseUser) {
        let started = Instant::now();
        if let Err(e) = (self.f)(Vu::new(user, self.ctx.clone())).await {
            if e.ended() == Ended::Failed {
                self.ctx.recorder.record(Sample {
                    method: TASK_METHOD,
                    name: &self.name,
                    latency_us: started.elapsed().as_micros() as u64,
                    service_us: None,
                    bytes: 0,
                    failure: Some((FailureKind::Task, e.message())),
                    ttfb_us: None,
                });
            }
        }
    }
}

/// The "method" of a task's own failures in every table: `TASK <task name>`.
pub const TASK_METHOD: &str = "TASK";
