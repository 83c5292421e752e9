//! The virtual user handed to scenario tasks: every request made through it is
//! timed (microseconds, body included), checked and recorded in HDR, named.

use crate::metrics::{FailureKind, Recorder, Sample};
use goose::goose::{GooseMethod, GooseRequest, GooseUser, TransactionError};
use std::sync::Arc;
use std::time::Instant;

/// Why a task stopped early (a failed check or a transport error, already recorded).
pub type TaskError = Box<TransactionError>;
/// What a task returns.
pub type TaskResult = Result<(), TaskError>;

/// One virtual user, as a task sees it. Requests go through goose's client.
pub struct Vu<'a> {
    user: &'a mut GooseUser,
    recorder: Arc<Recorder>,
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
    pub fn new(user: &'a mut GooseUser, recorder: Arc<Recorder>) -> Vu<'a> {
        Vu { user, recorder }
    }

    /// The goose user underneath, for session data and goose's own API.
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
    pub fn data<T: goose::goose::GooseUserData>(&self) -> Option<&T> {
        self.user.get_session_data::<T>()
    }

    pub fn data_mut<T: goose::goose::GooseUserData>(&mut self) -> Option<&mut T> {
        self.user.get_session_data_mut::<T>()
    }

    pub fn set_data<T: goose::goose::GooseUserData>(&mut self, data: T) {
        self.user.set_session_data(data);
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
        let mut builder = request_builder(vu.user, &method, &path)?;
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &json {
            builder = builder.json(body);
        }
        let name = name.unwrap_or_else(|| path.clone());
        let request = GooseRequest::builder()
            .method(method)
            .path(path.as_str())
            .name(name.as_str())
            .set_request_builder(builder)
            .build();
        let started = Instant::now();
        let response = vu.user.request(request).await?;
        let (status, body, failure) = match response.response {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(bytes) => {
                        let bad = if expect.is_empty() {
                            status.is_client_error() || status.is_server_error()
                        } else {
                            !expect.contains(&status.as_u16())
                        };
                        let failure = bad.then(|| (FailureKind::Status, format!("HTTP {status}")));
                        (status.as_u16(), bytes.to_vec(), failure)
                    }
                    Err(e) => (status.as_u16(), Vec::new(), Some(classify(e))),
                }
            }
            Err(e) => (0, Vec::new(), Some(classify(e))),
        };
        let latency_us = started.elapsed().as_micros() as u64;
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
        vu.recorder.record(Sample {
            method: method_label(&method),
            name: &name,
            latency_us,
            bytes: reply.body.len() as u64,
            failure: failure.as_ref().map(|(k, m)| (*k, m.as_str())),
        });
        reply.failure = failure.map(|(_, m)| format!("{} {name}: {m}", method_label(&method)));
        Ok(reply)
    }
}

/// The request builder for `path` on the user's base URL, as goose's
/// `get_request_builder` makes it, but with the URL parsed once: goose joins it
/// into a `String` and reqwest parses that again (host and IDNA included), which
/// was ~8% of the generator's CPU at 50k req/s.
fn request_builder(
    user: &GooseUser,
    method: &GooseMethod,
    path: &str,
) -> Result<reqwest::RequestBuilder, Box<TransactionError>> {
    let url = if path.starts_with('/') {
        user.base_url.join(path)
    } else {
        // Perhaps absolute ("http://host/x"): what goose's `build_url` accepts.
        match reqwest::Url::parse(path) {
            Ok(url) if url.host().is_some() => Ok(url),
            _ => user.base_url.join(path),
        }
    }
    .map_err(|e| Box::new(TransactionError::from(e)))?;
    let method = match method {
        GooseMethod::Get => reqwest::Method::GET,
        GooseMethod::Post => reqwest::Method::POST,
        GooseMethod::Put => reqwest::Method::PUT,
        GooseMethod::Patch => reqwest::Method::PATCH,
        GooseMethod::Delete => reqwest::Method::DELETE,
        GooseMethod::Head => reqwest::Method::HEAD,
        // Goose has no builder for a custom method either.
        GooseMethod::Custom => return user.get_request_builder(method, path),
    };
    Ok(user.client.request(method, url))
}

fn classify(e: reqwest::Error) -> (FailureKind, String) {
    let kind = if e.is_timeout() {
        FailureKind::Timeout
    } else if e.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Other
    };
    let mut causes = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        causes = format!("{causes}: {inner}");
        source = inner.source();
    }
    // Without the URL, so one endpoint's errors group under one message.
    (kind, format!("{}{causes}", e.without_url()))
}
