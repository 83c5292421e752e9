//! Scenarios as test authors write them (weighted personas of tasks with think
//! time), their mapping onto goose scenarios, and the built-in `http-get`.

use super::transport::VuContext;
use super::vu::{Ended, TaskResult, Vu};
use crate::metrics::{FailureKind, Sample};
use goose::goose::{GooseUser, Scenario, Transaction, TransactionFunction};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A task: an async function of a virtual user.
pub type TaskFn = Arc<dyn for<'a> Fn(Vu<'a>) -> BoxFuture<'a, TaskResult> + Send + Sync>;

/// Wraps an `async fn(Vu<'_>) -> TaskResult` as a task.
#[macro_export]
macro_rules! task {
    ($f:expr) => {
        $crate::engine::scenario::task_fn(|vu| Box::pin($f(vu)))
    };
}

pub fn task_fn<F>(f: F) -> TaskFn
where
    F: for<'a> Fn(Vu<'a>) -> BoxFuture<'a, TaskResult> + Send + Sync + 'static,
{
    Arc::new(f)
}

#[derive(Clone)]
pub(crate) struct TaskDef {
    pub name: String,
    pub weight: usize,
    pub on_start: bool,
    pub f: TaskFn,
}

/// A persona: what one kind of user does, and how often it is picked.
#[derive(Clone)]
pub struct ScenarioDef {
    pub name: String,
    pub weight: usize,
    think: Option<(Duration, Duration)>,
    tasks: Vec<TaskDef>,
}

impl std::fmt::Debug for ScenarioDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioDef")
            .field("name", &self.name)
            .field("weight", &self.weight)
            .field("think", &self.think)
            .field("tasks", &self.task_names())
            .finish()
    }
}

impl ScenarioDef {
    pub fn new(name: &str) -> ScenarioDef {
        ScenarioDef {
            name: name.to_string(),
            weight: 1,
            think: None,
            tasks: vec![],
        }
    }

    /// How many of this persona per one of weight 1.
    pub fn weight(mut self, weight: usize) -> Self {
        self.weight = weight.max(1);
        self
    }

    /// A random pause between tasks, like Locust's `wait_time = between(a, b)`.
    pub fn think(mut self, min: Duration, max: Duration) -> Self {
        self.think = Some((min, max.max(min)));
        self
    }

    /// A task run once when each user starts (login, say).
    pub fn on_start(mut self, name: &str, f: TaskFn) -> Self {
        self.tasks.push(TaskDef {
            name: name.into(),
            weight: 1,
            on_start: true,
            f,
        });
        self
    }

    /// A task picked `weight` times as often as a task of weight 1.
    pub fn task(mut self, name: &str, weight: usize, f: TaskFn) -> Self {
        self.tasks.push(TaskDef {
            name: name.into(),
            weight: weight.max(1),
            on_start: false,
            f,
        });
        self
    }

    /// Its tasks, on-start ones included, in order.
    pub(crate) fn tasks(&self) -> impl Iterator<Item = &TaskDef> {
        self.tasks.iter()
    }

    /// The names of its tasks, in order (for the distributed fingerprint).
    pub fn task_names(&self) -> Vec<String> {
        self.tasks
            .iter()
            .map(|t| format!("{}:{}:{}", t.name, t.weight, t.on_start))
            .collect()
    }

    /// The goose scenario: our tasks wrapped so every request is recorded, plus
    /// the user gauge (counted up on start, down on stop).
    pub(crate) fn to_goose(&self, ctx: &Arc<VuContext>) -> Result<Scenario, String> {
        let err = |e: goose::GooseError| format!("scenario '{}': {e}", self.name);
        let mut scenario = Scenario::new(&self.name)
            .set_weight(self.weight)
            .map_err(err)?;
        if let Some((min, max)) = self.think {
            scenario = scenario.set_wait_time(min, max).map_err(err)?;
        }
        let up = ctx.recorder.clone();
        let started: TransactionFunction = Arc::new(move |_: &mut GooseUser| {
            up.user_started();
            Box::pin(async { Ok(()) })
        });
        let down = ctx.recorder.clone();
        let stopped: TransactionFunction = Arc::new(move |_: &mut GooseUser| {
            down.user_stopped();
            Box::pin(async { Ok(()) })
        });
        scenario = scenario
            .register_transaction(
                Transaction::new(started)
                    .set_name("user start")
                    .set_on_start(),
            )
            .register_transaction(
                Transaction::new(stopped)
                    .set_name("user stop")
                    .set_on_stop(),
            );
        for task in &self.tasks {
            let runner = Arc::new(TaskRunner {
                f: task.f.clone(),
                name: task.name.clone(),
                ctx: ctx.clone(),
            });
            let function: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
                let runner = runner.clone();
                Box::pin(async move {
                    runner.run(user).await;
                    Ok(())
                })
            });
            let mut t = Transaction::new(function)
                .set_name(&task.name)
                .set_weight(task.weight)
                .map_err(err)?;
            if task.on_start {
                t = t.set_on_start();
            }
            scenario = scenario.register_transaction(t);
        }
        Ok(scenario)
    }
}

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
                });
            }
        }
    }
}

/// The "method" of a task's own failures in every table: `TASK <task name>`.
pub const TASK_METHOD: &str = "TASK";

/// The built-in scenario: GETs each path in turn, with no pause unless `--think`.
pub fn http_get(paths: &[String]) -> ScenarioDef {
    let mut def = ScenarioDef::new("http-get");
    for path in paths {
        let owned = path.clone();
        let f = task_fn(move |mut vu| {
            let path = owned.clone();
            Box::pin(async move { vu.get(path).send().await.map(|_| ()) })
        });
        def = def.task(&format!("GET {path}"), 1, f);
    }
    def
}
