//! A request being built and sent: every request made through a `Vu` is
//! timed (microseconds, body included), checked and recorded in HDR, named; a
//! request the task drops before its answer is recorded as cancelled.

use super::context;
use super::context::VuContext;
use super::reply::Reply;
use super::task_error::TaskError;
use crate::client::{Failure, Headers, Request};
use crate::metrics::{FailureKind, Recorder, Sample};
use goose::goose::GooseMethod;
use goose::goose::GooseUser;
use std::time::{Duration, Instant};

type Check = Box<dyn Fn(&Reply) -> Result<(), String> + Send + Sync>;

/// A request being built: `vu.get(path).name("GET /books/{id}").expect(200).send().await?`.
pub struct Req<'v> {
    user: &'v mut GooseUser,
    ctx: &'v VuContext,
    method: GooseMethod,
    path: String,
    name: Option<String>,
    json: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
    expect: Vec<u16>,
    checks: Vec<Check>,
    timeout: Option<Duration>,
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

impl<'v> Req<'v> {
    pub(super) fn new(
        user: &'v mut GooseUser,
        ctx: &'v VuContext,
        method: GooseMethod,
        path: String,
    ) -> Req<'v> {
        Req {
            user,
            ctx,
            method,
            path,
            name: None,
            json: None,
            headers: vec![],
            expect: vec![],
            checks: vec![],
            timeout: None,
        }
    }

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
            user,
            ctx,
            method,
            path,
            name,
            json,
            headers,
            expect,
            checks,
            timeout,
        } = self;
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
        let request = Request {
            method: method_label(&method),
            path: &path,
            headers: &headers,
            content_type: json.as_ref().map(|_| "application/json"),
            body: json.as_deref(),
            timeout: timeout.unwrap_or(ctx.timeout),
        };
        let state = context::state(user);
        let lag_us = state.lag_us;
        let client = state.http.get_or_insert_with(|| ctx.client.user());
        let mut in_flight = InFlight {
            recorder: &ctx.recorder,
            method: method_label(&method),
            name: &name,
            started: Instant::now(),
            lag_us,
            answered: false,
        };
        let answer = tokio::select! {
            biased;
            _ = ctx.cut.cancelled() => Err(Failure::new(
                FailureKind::Cancelled,
                format!(
                    "still waiting at the end of the run's graceful stop ({})",
                    crate::units::fmt_duration(ctx.grace)
                ),
            )),
            answer = client.send(&request) => answer,
        };
        in_flight.answered = true;
        let service_us = in_flight.started.elapsed().as_micros() as u64;
        // The open model times a request from its arrival's due time too.
        let latency_us = service_us + lag_us.unwrap_or(0);
        let (status, headers, body, url, ttfb_us, failure) = match answer {
            Ok(r) => (r.status, r.headers, r.body, r.url, r.ttfb_us, None),
            Err(f) => (
                0,
                Headers::default(),
                Vec::new(),
                None,
                None,
                Some((f.kind, f.message)),
            ),
        };
        let failure = failure.or_else(|| {
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
            headers,
            body,
            url,
            latency_us,
            ttfb_us,
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
            ttfb_us,
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
            ttfb_us: None,
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
