//! Scenarios as test authors write them (weighted personas of tasks with think
//! time), their mapping onto goose scenarios, and the built-in `http-get`.

use super::task_error::TaskResult;
use super::vu::Vu;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A task: an async function of a virtual user.
pub type TaskFn = Arc<dyn for<'a> Fn(Vu<'a>) -> BoxFuture<'a, TaskResult> + Send + Sync>;

/// Wraps an `async fn(Vu<'_>) -> TaskResult` as a task.
#[macro_export]
macro_rules! task {
    ($f:expr) => {
        $crate::author::scenario::task_fn(|vu| Box::pin($f(vu)))
    };
}

/// Wraps an `async fn(Vu<'_>) -> Result<serde_json::Value, TaskError>` as a run's setup.
#[macro_export]
macro_rules! setup {
    ($f:expr) => {
        $crate::author::setup::setup_fn(|vu| Box::pin($f(vu)))
    };
}

pub fn task_fn<F>(f: F) -> TaskFn
where
    F: for<'a> Fn(Vu<'a>) -> BoxFuture<'a, TaskResult> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// When a task runs in a user's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// Once, when the user starts (a login).
    Start,
    /// Again and again, picked by weight.
    Loop,
    /// Once, when the user stops (a logout), while the run's graceful stop lasts.
    Stop,
}

#[derive(Clone)]
pub(crate) struct TaskDef {
    pub name: String,
    pub weight: usize,
    pub when: When,
    pub f: TaskFn,
}

/// A persona: what one kind of user does, and how often it is picked.
#[derive(Clone)]
pub struct ScenarioDef {
    pub name: String,
    pub weight: usize,
    think: Option<(Duration, Duration)>,
    tasks: Vec<TaskDef>,
    /// Headers every request of its users carries (a request's own replace them).
    headers: Vec<(String, String)>,
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
            headers: vec![],
        }
    }

    /// A header every request of this persona's users carries (`Accept:
    /// application/json`, an API key); set again, it replaces.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Its headers, in order.
    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
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
            when: When::Start,
            f,
        });
        self
    }

    /// A task run once when each user stops (logout, say): at the plan's end
    /// or a user fewer, within the run's graceful stop.
    pub fn on_stop(mut self, name: &str, f: TaskFn) -> Self {
        self.tasks.push(TaskDef {
            name: name.into(),
            weight: 1,
            when: When::Stop,
            f,
        });
        self
    }

    /// A task picked `weight` times as often as a task of weight 1.
    pub fn task(mut self, name: &str, weight: usize, f: TaskFn) -> Self {
        self.tasks.push(TaskDef {
            name: name.into(),
            weight: weight.max(1),
            when: When::Loop,
            f,
        });
        self
    }

    /// Its tasks, on-start and on-stop ones included, in order.
    pub(crate) fn tasks(&self) -> impl Iterator<Item = &TaskDef> {
        self.tasks.iter()
    }

    /// The names of its tasks, in order (for the distributed fingerprint).
    pub fn task_names(&self) -> Vec<String> {
        self.tasks
            .iter()
            .map(|t| format!("{}:{}:{:?}", t.name, t.weight, t.when))
            .collect()
    }

    /// Its think time between tasks, if it has one.
    pub fn think_time(&self) -> Option<(Duration, Duration)> {
        self.think
    }
}

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
