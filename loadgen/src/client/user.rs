//! The per-user connection model: each virtual user owns one keep-alive
//! connection to the target (opened on first use, reopened when the server
//! closes it, closed when the user stops), with its own cookies, driven from
//! the user's own task; redirects followed within the origin.

use super::cookies::CookieJar;
use super::h1::conn::{Conn, ExchangeError, RawResponse};
use super::h1::wire;
use super::origin::Origin;
use super::{Failure, Request, Response};
use crate::metrics::{ConnectionMeter, FailureKind};
use std::sync::Arc;

/// Redirects followed (within the origin) before the last answer is returned.
const MAX_REDIRECTS: usize = 10;

/// Why a request got no response, as the exchange saw it.
#[derive(Debug, PartialEq, Eq)]
enum HttpError {
    /// The connection could not be made, or broke.
    Connect(String),
    /// No whole response within the request timeout.
    Timeout,
    /// The answer was not HTTP as we read it (framing, status, limits,
    /// redirects without end).
    Protocol(String),
    /// The request could not be made (bad path).
    Other(String),
}

/// One virtual user's HTTP: its connection and its cookies.
pub struct UserHttp {
    origin: Arc<Origin>,
    conn: Option<Conn>,
    cookies: CookieJar,
    meter: Arc<ConnectionMeter>,
    max_body: usize,
}

impl UserHttp {
    pub fn new(origin: Arc<Origin>, meter: Arc<ConnectionMeter>, max_body: usize) -> UserHttp {
        UserHttp {
            origin,
            conn: None,
            cookies: CookieJar::default(),
            meter,
            max_body,
        }
    }

    /// Sends the request on the user's connection (opening it if needed) and
    /// reads the whole response within its timeout, following redirects within
    /// the origin. Cancel-safe: dropped half way, the connection is not reused.
    pub async fn send(&mut self, request: &Request<'_>) -> Result<Response, Failure> {
        let result = match tokio::time::timeout(request.timeout, self.send_following(request)).await
        {
            Ok(result) => result,
            Err(_) => {
                // Whatever was in flight is unknown: the connection is spent.
                self.conn = None;
                Err(HttpError::Timeout)
            }
        };
        result.map_err(|e| match e {
            HttpError::Connect(why) => Failure::new(FailureKind::Connect, why),
            HttpError::Timeout => Failure::timeout(request.timeout),
            HttpError::Protocol(why) => Failure::new(FailureKind::Protocol, why),
            HttpError::Other(why) => Failure::new(FailureKind::Other, why),
        })
    }

    async fn send_following(&mut self, request: &Request<'_>) -> Result<Response, HttpError> {
        let mut target = self.origin.target(request.path).map_err(HttpError::Other)?;
        let (mut method, mut body, mut content_type) =
            (request.method, request.body, request.content_type);
        for hop in 0..=MAX_REDIRECTS {
            let raw = self
                .exchange(method, &target, request.headers, content_type, body)
                .await?;
            for cookie in &raw.head.set_cookies {
                self.cookies.set(cookie);
            }
            let status = raw.head.status;
            let next = match (&raw.head.location, status) {
                (Some(_), 301 | 302 | 303 | 307 | 308) if hop == MAX_REDIRECTS => {
                    return Err(HttpError::Protocol(format!(
                        "more than {MAX_REDIRECTS} redirects (the last to {target})"
                    )))
                }
                (Some(loc), 301 | 302 | 303 | 307 | 308) => self.origin.location(&target, loc).ok(),
                _ => None,
            };
            match next {
                Some(next) => {
                    target = next;
                    // As browsers do: 303 (and 301/302 after a POST) become a GET.
                    if status == 303 || (matches!(status, 301 | 302) && method == "POST") {
                        (method, body, content_type) = ("GET", None, None);
                    }
                }
                None => {
                    return Ok(Response {
                        status,
                        body: raw.body,
                    })
                }
            }
        }
        unreachable!("the last hop returns")
    }

    /// One request and its response on the user's connection. A reused
    /// connection the server had closed while idle is reopened and the request
    /// sent again, once.
    async fn exchange(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        content_type: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<RawResponse, HttpError> {
        // A connection whose last exchange was abandoned half way is out of step.
        if self.conn.as_ref().is_some_and(Conn::unsettled) {
            self.conn = None;
        }
        let mut reused = self.conn.is_some();
        loop {
            let conn = match self.conn.as_mut() {
                Some(conn) => conn,
                None => {
                    let conn = Conn::open(&self.origin.addr, &self.meter)
                        .await
                        .map_err(|e| {
                            HttpError::Connect(format!(
                                "cannot connect to {}: {e}",
                                self.origin.addr
                            ))
                        })?;
                    self.conn.insert(conn)
                }
            };
            wire::write_request(
                &mut conn.wbuf,
                method,
                target,
                &self.origin.host,
                self.cookies.header(),
                headers,
                content_type,
                body,
            );
            match conn.exchange(method, self.max_body).await {
                Ok(raw) => {
                    if !raw.head.keep_alive {
                        self.conn = None;
                    }
                    return Ok(raw);
                }
                Err(ExchangeError::ClosedBeforeResponse(_) | ExchangeError::Write(_)) if reused => {
                    self.conn = None;
                    reused = false;
                }
                Err(e) => {
                    self.conn = None;
                    return Err(match e {
                        ExchangeError::ClosedBeforeResponse(why) => HttpError::Connect(why),
                        ExchangeError::Write(e) => {
                            HttpError::Connect(format!("sending the request: {e}"))
                        }
                        ExchangeError::Read(why) => HttpError::Connect(why),
                        ExchangeError::Protocol(why) => HttpError::Protocol(why),
                    });
                }
            }
        }
    }
}
