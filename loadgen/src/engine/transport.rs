//! How a virtual user's request reaches the target: over the user's own
//! keep-alive connection (the per-user model, the default), or through goose's
//! one shared connection pool (`--connections shared`).

use super::http::{HttpError, Origin, Request, UserHttp};
use super::vu::method_label;
use crate::metrics::{FailureKind, Recorder};
use goose::goose::{GooseMethod, GooseRequest, GooseUser, GooseUserData, TransactionError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How users hold connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionModel {
    /// Each user holds its own keep-alive connection, as a browser tab or a Locust user.
    #[default]
    PerUser,
    /// All users share one connection pool: raw throughput, does not model users' connections.
    Shared,
}

impl ConnectionModel {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionModel::PerUser => "per-user",
            ConnectionModel::Shared => "shared",
        }
    }
}

/// What every virtual user of an attack shares: where to record, how to send,
/// the default request timeout, and the cut that ends requests in flight at
/// the end of the run (after `grace`, the graceful stop).
pub struct VuContext {
    pub recorder: Arc<Recorder>,
    pub transport: Transport,
    pub timeout: Duration,
    pub cut: CancellationToken,
    pub grace: Duration,
}

pub enum Transport {
    PerUser {
        origin: Arc<Origin>,
        /// The largest body read (`--max-body`).
        max_body: usize,
    },
    /// goose's reqwest client, shared by all users.
    Shared {
        /// The largest body read (`--max-body`).
        max_body: usize,
    },
}

impl Transport {
    /// The transport of `model` for a run on `host` with this request timeout.
    pub fn new(model: ConnectionModel, host: &str, max_body: usize) -> Result<Transport, String> {
        Ok(match model {
            ConnectionModel::Shared => Transport::Shared { max_body },
            ConnectionModel::PerUser => {
                let base = reqwest::Url::parse(host).map_err(|e| format!("'{host}': {e}"))?;
                Transport::PerUser {
                    origin: Arc::new(Origin::of(&base)?),
                    max_body,
                }
            }
        })
    }
}

/// A request as the virtual user made it, its JSON body already serialized.
pub struct Outgoing<'a> {
    pub method: &'a GooseMethod,
    pub path: &'a str,
    pub name: &'a str,
    pub headers: &'a [(String, String)],
    pub json: Option<&'a [u8]>,
    /// No answer within this is a timeout.
    pub timeout: Duration,
}

/// What came back: the status (0 without a response), the body, and why the
/// exchange itself failed, if it did (status checks are the caller's).
pub struct Exchanged {
    pub status: u16,
    pub body: Vec<u8>,
    pub failure: Option<(FailureKind, String)>,
}

/// What goose keeps for each user: the user's own HTTP (connection, cookies)
/// and the data its tasks keep between them (`Vu::data`). A clone, as goose
/// makes of a user's template, starts without a connection.
pub(crate) struct UserState {
    pub http: Option<UserHttp>,
    pub data: Option<Box<dyn GooseUserData>>,
    /// Open model: how late the current iteration started against its
    /// arrival's due time; each of its requests is timed from that due time.
    pub lag_us: Option<u64>,
}

impl Clone for UserState {
    fn clone(&self) -> Self {
        UserState {
            http: None,
            data: self.data.clone(),
            lag_us: None,
        }
    }
}

/// The user's state, created on first use. (goose keeps one session value per
/// user: data set through goose's own API instead of `Vu::set_data` is replaced.)
pub(crate) fn state(user: &mut GooseUser) -> &mut UserState {
    if user.get_session_data::<UserState>().is_none() {
        user.set_session_data(UserState {
            http: None,
            data: None,
            lag_us: None,
        });
    }
    user.get_session_data_mut::<UserState>().expect("just set")
}

/// Sends the request the configured way, within its timeout; a request still
/// waiting when the run cuts its requests ends as cancelled.
pub async fn exchange(user: &mut GooseUser, ctx: &VuContext, out: &Outgoing<'_>) -> Exchanged {
    let sent = async {
        match &ctx.transport {
            Transport::PerUser { origin, max_body } => {
                let http = state(user).http.get_or_insert_with(|| {
                    UserHttp::new(origin.clone(), ctx.recorder.connections.clone(), *max_body)
                });
                per_user(http, out).await
            }
            Transport::Shared { max_body } => shared(user, out, *max_body).await,
        }
    };
    tokio::select! {
        biased;
        _ = ctx.cut.cancelled() => Exchanged::failed(
            FailureKind::Cancelled,
            format!(
                "still waiting at the end of the run's graceful stop ({})",
                crate::units::fmt_duration(ctx.grace)
            ),
        ),
        exchanged = sent => exchanged,
    }
}

impl Exchanged {
    fn failed(kind: FailureKind, why: String) -> Exchanged {
        Exchanged {
            status: 0,
            body: Vec::new(),
            failure: Some((kind, why)),
        }
    }
}

/// On the user's own connection.
async fn per_user(http: &mut UserHttp, out: &Outgoing<'_>) -> Exchanged {
    let request = Request {
        method: method_label(out.method),
        path: out.path,
        headers: out.headers,
        content_type: out.json.map(|_| "application/json"),
        body: out.json,
    };
    match http.send(&request, out.timeout).await {
        Ok(r) => Exchanged {
            status: r.status,
            body: r.body,
            failure: None,
        },
        Err(e) => {
            let (kind, why) = match e {
                HttpError::Connect(why) => (FailureKind::Connect, why),
                HttpError::Timeout => (
                    FailureKind::Timeout,
                    format!(
                        "no response within {}",
                        crate::units::fmt_duration(out.timeout)
                    ),
                ),
                HttpError::Protocol(why) => (FailureKind::Protocol, why),
                HttpError::Other(why) => (FailureKind::Other, why),
            };
            Exchanged::failed(kind, why)
        }
    }
}

/// Through goose's request path and its shared reqwest pool.
async fn shared(user: &mut GooseUser, out: &Outgoing<'_>, max_body: usize) -> Exchanged {
    let mut builder = match request_builder(user, out.method, out.path) {
        Ok(builder) => builder.timeout(out.timeout),
        Err(e) => return Exchanged::failed(FailureKind::Other, e.to_string()),
    };
    for (k, v) in out.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(body) = out.json {
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
    }
    let request = GooseRequest::builder()
        .method(*out.method)
        .path(out.path)
        .name(out.name)
        .set_request_builder(builder)
        .build();
    let response = match user.request(request).await {
        Ok(response) => response,
        Err(e) => return Exchanged::failed(FailureKind::Other, e.to_string()),
    };
    match response.response {
        Ok(resp) if resp.content_length().is_some_and(|n| n > max_body as u64) => {
            Exchanged::failed(
                FailureKind::Protocol,
                format!(
                    "body of {} bytes is over the {max_body} byte limit",
                    resp.content_length().unwrap_or(0)
                ),
            )
        }
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) if body.len() + chunk.len() > max_body => {
                        break Exchanged {
                            status,
                            body: Vec::new(),
                            failure: Some((
                                FailureKind::Protocol,
                                format!("body over the {max_body} byte limit"),
                            )),
                        }
                    }
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => {
                        break Exchanged {
                            status,
                            body,
                            failure: None,
                        }
                    }
                    Err(e) => {
                        break Exchanged {
                            status,
                            body: Vec::new(),
                            failure: Some(classify(e)),
                        }
                    }
                }
            }
        }
        Err(e) => Exchanged {
            status: 0,
            body: Vec::new(),
            failure: Some(classify(e)),
        },
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
    let url = under_base(&user.base_url, path).map_err(|e| Box::new(TransactionError::from(e)))?;
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

/// The `url` crate's parse error, as reqwest's `Url` reports it.
type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// `path` under the base URL, as the per-user `Origin::target` has it: the
/// base URL's path prefixes it (goose's own join would drop it), a relative
/// path goes in the base as a folder, an absolute URL is used as is.
fn under_base(base: &reqwest::Url, path: &str) -> Result<reqwest::Url, UrlError> {
    let prefix = base.path().trim_end_matches('/');
    if path.starts_with('/') {
        return if prefix.is_empty() {
            base.join(path)
        } else {
            base.join(&format!("{prefix}{path}"))
        };
    }
    match reqwest::Url::parse(path) {
        Ok(url) if url.host().is_some() => Ok(url),
        _ if prefix.is_empty() => base.join(path),
        _ => base.join(&format!("{prefix}/{path}")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_pool_keeps_the_base_path_too() {
        let at = |base: &str, path: &str| {
            under_base(&reqwest::Url::parse(base).unwrap(), path)
                .unwrap()
                .to_string()
        };
        assert_eq!(at("http://h.test", "/x?y=1"), "http://h.test/x?y=1");
        assert_eq!(at("http://h.test/api", "/x"), "http://h.test/api/x");
        assert_eq!(at("http://h.test/api/", "/x"), "http://h.test/api/x");
        assert_eq!(at("http://h.test/api", "x?q=1"), "http://h.test/api/x?q=1");
        assert_eq!(
            at("http://h.test/api", "http://o.test/z"),
            "http://o.test/z"
        );
    }
}
