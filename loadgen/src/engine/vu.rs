//! The virtual user handed to scenario tasks: every request made through it is
//! timed (microseconds, body included), checked and recorded in HDR, named.

use super::transport::{self, Outgoing, VuContext};
use crate::metrics::{FailureKind, Sample};
use goose::goose::{GooseMethod, GooseUser, GooseUserData, TransactionError};
use std::sync::Arc;
use std::time::Instant;

/// Why a task stopped early (a failed check or a transport error, already recorded).
pub type TaskError = Box<TransactionError>;
/// What a task returns.
pub type TaskResult = Result<(), TaskError>;

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

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Box<TransactionError>> {
        serde_json::from_slice(&self.body)
            .map_err(|e| custom(format!("response is not the expected JSON: {e}")))
    }
}

fn custom(message: String) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(message))
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
    pub async fn send(self) -> Result<Reply, Box<TransactionError>> {
        let reply = self.send_any().await?;
        match &reply.failure {
            None => Ok(reply),
            Some(why) => Err(custom(why.clone())),
        }
    }

    /// Like `send`, but a failed request is returned as a `Reply` (still recorded).
    pub async fn send_any(self) -> Result<Reply, Box<TransactionError>> {
        let Req {
            vu,
            method,
            path,
            name,
            json,
            headers,
            expect,
            checks,
        } = self;
        let name = name.unwrap_or_else(|| path.clone());
        let json = match &json {
            Some(value) => {
                Some(serde_json::to_vec(value).map_err(|e| custom(format!("the JSON body: {e}")))?)
            }
            None => None,
        };
        let out = Outgoing {
            method: &method,
            path: &path,
            name: &name,
            headers: &headers,
            json: json.as_deref(),
        };
        let lag_us = transport::state(vu.user).lag_us;
        let started = Instant::now();
        let exchanged = transport::exchange(vu.user, &vu.ctx, &out).await?;
        let service_us = started.elapsed().as_micros() as u64;
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
        vu.ctx.recorder.record(Sample {
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
