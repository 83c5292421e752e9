//! One task run on one user, its own failures recorded: the bridge between a
//! scenario's tasks and the engine that schedules them (goose's users in the
//! closed model, the dispatcher's in the open one).

use super::context::VuContext;
use super::persona::Persona;
use super::scenario::{ScenarioDef, TaskDef, TaskFn};
use super::task_error::Ended;
use super::vu::Vu;
use crate::metrics::{FailureKind, Sample};
use goose::goose::GooseUser;
use std::sync::Arc;
use std::time::Instant;

/// What `def`'s users share at run time.
pub(crate) fn persona_of(def: &ScenarioDef) -> Arc<Persona> {
    Arc::new(Persona {
        name: Arc::from(def.name.as_str()),
        headers: def.headers().to_vec(),
    })
}

/// One task of a scenario, ready to run on any of its users.
pub(crate) struct TaskRunner {
    pub f: TaskFn,
    pub name: String,
    pub ctx: Arc<VuContext>,
    pub persona: Arc<Persona>,
}

impl TaskRunner {
    pub fn new(task: &TaskDef, ctx: &Arc<VuContext>, persona: &Arc<Persona>) -> TaskRunner {
        TaskRunner {
            f: task.f.clone(),
            name: task.name.clone(),
            ctx: ctx.clone(),
            persona: persona.clone(),
        }
    }

    /// Runs the task on `user`. An error of the task's own (not a failed
    /// request, recorded already; not the end of the run) is recorded as a
    /// `task` failure under `TASK <name>`, so it is counted and shown.
    pub async fn run(&self, user: &mut GooseUser) {
        if !self.ctx.unpaused().await {
            return;
        }
        let started = Instant::now();
        let vu = Vu::new(user, self.ctx.clone(), self.persona.clone());
        if let Err(e) = (self.f)(vu).await {
            if e.ended() == Ended::Failed {
                self.ctx.recorder.record(Sample {
                    method: TASK_METHOD,
                    name: &self.name,
                    latency_us: started.elapsed().as_micros() as u64,
                    service_us: None,
                    bytes: 0,
                    failure: Some((FailureKind::Task, e.message())),
                    ttfb_us: None,
                    status: 0,
                    scenario: Some(&self.persona.name),
                });
            }
        }
    }
}

/// The "method" of a task's own failures in every table: `TASK <task name>`.
pub const TASK_METHOD: &str = "TASK";
