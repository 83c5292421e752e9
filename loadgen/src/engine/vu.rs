//! The virtual user handed to scenario tasks: every request made through it is
//! timed (microseconds, body included), checked and recorded in HDR, named;
//! a request the task drops before its answer is recorded as cancelled.

use super::transport::{self, Outgoing, VuContext};
use crate::metrics::{FailureKind, Recorder, Sample};
use goose::goose::{GooseMethod, GooseUser, GooseUserData};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a task returns.
pub type TaskResult = Result<(), TaskError>;

/// Why a task ended early. From a failed request (already recorded), from the
/// end of the run (not counted), or the task's own error (`?` on any error,
/// or [`TaskError::msg`]): counted as a `task` failure named after the task.
pub struct TaskError {
    ended: Ended,
    message: String,
}

/// How a task's error counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// A request failed and was recorded as such.
    Recorded,
    /// The task failed on its own: counted as a `task` failure.
    Failed,
    /// The run is over: nothing to count.
    Stopped,
}

impl TaskError {
    /// A task's own failure, with why.
    pub fn msg(message: impl Into<String>) -> TaskError {
        TaskError {
            ended: Ended::Failed,
            message: message.into(),
        }
    }

    pub(crate) fn recorded(message: String) -> TaskError {
        TaskError {
            ended: Ended::Recorded,
            message,
        }
    }

    pub(crate) fn stopped() -> TaskError {
        TaskError {
            ended: Ended::Stopped,
            message: "the run is over".into(),
        }
    }

    pub(crate) fn ended(&self) -> Ended {
        self.ended
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Any error a task meets (`r.json()?`, a parse, an I/O error) is its own
/// failure, with the error's causes in the message.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for TaskError {
    fn from(e: E) -> TaskError {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(inner) = source {
            message = format!("{message}: {inner}");
            source = inner.source();
        }
        TaskError::msg(message)
    }
}

impl std::fmt::Debug for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskError({:?}: {})", self.ended, self.message)
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One virtual user, as a task sees it. Its requests go over its own
/// connection (or the shared pool, with `--connections shared`).
pub struct Vu<'a> {
    user: &'a mut GooseUser,
    ctx: Arc<VuContext>,
}

/// A response: status, headers' content type, the whole body, and how long it took.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub latency_us: u64,
    /// Why the request counted as failed, if it did.
    pub failure: Option<String>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }

    /// The body as JSON of type `T`; a body that is not is the task's failure.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, TaskError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| TaskError::msg(format!("response is not the expected JSON: {e}")))
    }
}

type Check = Box<dyn Fn(&Reply) -> Result<(), String> + Send + Sync>;

/// A request being built: `vu.get(path).name("GET /books/{id}").expect(200).send().await?`.
pub struct Req<'v, 'a> {
    vu: &'v mut Vu<'a>,
    method: GooseMethod,
    path: String,
    name: Option<String>,
    json: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
    expect: Vec<u16>,
    checks: Vec<Check>,
    timeout: Option<Duration>,
}

impl<'a> Vu<'a> {
    pub fn new(user: &'a mut GooseUser, ctx: Arc<VuContext>) -> Vu<'a> {
        Vu { user, ctx }
    }

    /// The goose user underneath, for goose's own API. Keep per-user data with
    /// `set_data`: goose's session data holds the user's connection.
    pub fn goose(&mut self) -> &mut GooseUser {
        self.user
    }

    pub fn get(&mut self, path: impl Into<String>) -> Req<'_, 'a> {
        self.request(GooseMethod::Get, path)
    }
    pub fn post(&mut self, path: impl Into<String>) -> Req<'_, 'a> {
        self.request(GooseMethod::Post, path)
    }
    pub fn put(&mut self, path: impl Into<String>) -> Req<'_, 'a> {
        self.request(GooseMethod::Put, path)
    }
    pub fn delete(&mut self, path: impl Into<String>) -> Req<'_, 'a> {
        self.request(GooseMethod::Delete, path)
    }

    pub fn request(&mut self, method: GooseMethod, path: impl Into<String>) -> Req<'_, 'a> {
        Req {
            vu: self,
            method,
            path: path.into(),
            name: None,
            json: None,
            headers: vec![],
            expect: vec![],
            checks: vec![],
            timeout: None,
        }
    }

    /// Per-user data kept between tasks (a login token, an id).
    pub fn data<T: GooseUserData>(&self) -> Option<&T> {
        let state = self.user.get_session_data::<transport::UserState>()?;
        state.data.as_ref()?.downcast_ref::<T>()
    }

    pub fn data_mut<T: GooseUserData>(&mut self) -> Option<&mut T> {
        let state = self.user.get_session_data_mut::<transport::UserState>()?;
        state.data.as_mut()?.downcast_mut::<T>()
    }

    pub fn set_data<T: GooseUserData>(&mut self, data: T) {
        transport::state(self.user).data = Some(Box::new(data));
    }
}

pub(crate) fn method_label(method: &GooseMethod) -> &'static str {
    match method {
        GooseMethod::Get => "GET",
        GooseMethod::Post => "POST",
        GooseMethod::Put => "PUT",
        GooseMethod::Patch => "PATCH",
        GooseMethod::Delete => "DELETE",
        GooseMethod::Head => "HEAD",
        GooseMethod::Custom => "CUSTOM",
    }
}

impl Req<'_, '_> {
    /// The name requests are grouped under (default: the path).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.json = Some(body);
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// How long this request may take before it fails as a timeout (default:
    /// the run's `--timeout`). Give a request its time limit here, not by
    /// wrapping `send()` in a timeout: a dropped request is recorded as
    /// cancelled and costs the user its connection.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The status that counts as success (default: any 1xx-3xx).
    pub fn expect(mut self, status: u16) -> Self {
        self.expect = vec![status];
        self
    }

    /// Statuses that all count as success (a 409 "no copies left" can be a fine answer).
    pub fn expect_any(mut self, statuses: &[u16]) -> Self {
        self.expect = statuses.to_vec();
        self
    }

    /// A response check; a rejected response counts as a failed request.
    pub fn check(
        mut self,
        check: impl Fn(&Reply) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Box::new(check));
        self
    }

    /// Sends, measures, checks and records the request. A failed request is
    /// recorded and returned as an error, so `?` ends the task.
    pub async fn send(self) -> Result<Reply, TaskError> {
        let reply = self.send_any().await?;
        match &reply.failure {
            None => Ok(reply),
            Some(why) => Err(TaskError::recorded(why.clone())),
        }
    }

    /// Like `send`, but a failed request is returned as a `Reply` (still
    /// recorded). Errs only when the run is over (nothing was sent).
    pub async fn send_any(self) -> Result<Reply, TaskError> {
        let Req {
            vu,
            method,
            path,
            name,
            json,
            headers,
            expect,
            checks,
            timeout,
        } = self;
        let Vu { user, ctx } = vu;
        if ctx.cut.is_cancelled() {
            return Err(TaskError::stopped());
        }
        let name = name.unwrap_or_else(|| path.clone());
        let json = match &json {
            Some(value) => Some(
                serde_json::to_vec(value)
                    .map_err(|e| TaskError::msg(format!("the JSON body: {e}")))?,
            ),
            None => None,
        };
        let out = Outgoing {
            method: &method,
            path: &path,
            name: &name,
            headers: &headers,
            json: json.as_deref(),
            timeout: timeout.unwrap_or(ctx.timeout),
        };
        let lag_us = transport::state(user).lag_us;
        let mut in_flight = InFlight {
            recorder: &ctx.recorder,
            method: method_label(&method),
            name: &name,
            started: Instant::now(),
            lag_us,
            answered: false,
        };
        let exchanged = transport::exchange(user, ctx, &out).await;
        in_flight.answered = true;
        let service_us = in_flight.started.elapsed().as_micros() as u64;
        // The open model times a request from its arrival's due time too.
        let latency_us = service_us + lag_us.unwrap_or(0);
        let (status, body) = (exchanged.status, exchanged.body);
        let failure = exchanged.failure.or_else(|| {
            let bad = if expect.is_empty() {
                status >= 400
            } else {
                !expect.contains(&status)
            };
            bad.then(|| {
                (
                    FailureKind::Status,
                    format!("HTTP {status}{}", reason(status)),
                )
            })
        });
        let mut reply = Reply {
            status,
            body,
            latency_us,
            failure: None,
        };
        let failure = failure.or_else(|| {
            checks
                .iter()
                .find_map(|check| check(&reply).err())
                .map(|why| (FailureKind::Check, why))
        });
        ctx.recorder.record(Sample {
            method: method_label(&method),
            name: &name,
            latency_us,
            service_us: lag_us.map(|_| service_us),
            bytes: reply.body.len() as u64,
            failure: failure.as_ref().map(|(k, m)| (*k, m.as_str())),
        });
        reply.failure = failure.map(|(_, m)| format!("{} {name}: {m}", method_label(&method)));
        Ok(reply)
    }
}

/// A request sent and not yet answered. Dropped unanswered (the task's future
/// was dropped: a timeout or a `select!` around `send()`), it records the
/// request as cancelled, so it is never lost from the figures.
struct InFlight<'a> {
    recorder: &'a Recorder,
    method: &'static str,
    name: &'a str,
    started: Instant,
    lag_us: Option<u64>,
    answered: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let service_us = self.started.elapsed().as_micros() as u64;
        self.recorder.record(Sample {
            method: self.method,
            name: self.name,
            latency_us: service_us + self.lag_us.unwrap_or(0),
            service_us: self.lag_us.map(|_| service_us),
            bytes: 0,
            failure: Some((
                FailureKind::Cancelled,
                "dropped by the task before its answer (to limit a request's time, use .timeout())",
            )),
        });
    }
}

/// The reason phrase after a status, as reqwest printed it (" 503 Service Unavailable").
fn reason(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(r) => format!(" {r}"),
        None => String::new(),
    }
}
