//! HTTP/1.1 for the per-user connection model: each virtual user owns one
//! keep-alive connection to the target (opened on first use, reopened when the
//! server closes it, closed when the user stops), with its own cookies, driven
//! from the user's own task.
//!
//! - [`wire`]: request heads, response heads and body framing, as bytes.
//! - [`conn`]: one connection: write a request, read its response.
//! - [`cookies`]: the user's cookie jar.

pub mod conn;
pub mod cookies;
pub mod wire;

use crate::metrics::ConnectionMeter;
use conn::{Conn, ExchangeError, RawResponse};
use cookies::CookieJar;
use reqwest::Url;
use std::sync::Arc;
use std::time::Duration;

/// Redirects followed (within the origin) before the last answer is returned.
const MAX_REDIRECTS: usize = 10;

/// The one server every user of a run talks to, and the base path every
/// request's path goes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    base: Url,
    /// The base URL's path without its trailing `/` (empty for the root).
    prefix: String,
    /// The base URL as a folder (its path ending in `/`), for relative paths.
    folder: Url,
    /// `Host` header value.
    host: String,
    /// What to connect to: `host:port`.
    addr: String,
}

impl Origin {
    /// The origin of a base URL; only `http` is spoken on per-user connections.
    pub fn of(base: &Url) -> Result<Origin, String> {
        if base.scheme() != "http" {
            return Err(format!(
                "per-user connections speak plain http, not {}: use --connections shared for {base}",
                base.scheme()
            ));
        }
        let host = base
            .host_str()
            .ok_or_else(|| format!("{base} has no host"))?;
        // An IPv6 host comes bracketed ("[::1]"), as both need it.
        let port = base.port_or_known_default().unwrap_or(80);
        let addr = format!("{host}:{port}");
        let host = match base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let prefix = base.path().trim_end_matches('/').to_string();
        let mut folder = base.clone();
        folder.set_path(&format!("{prefix}/"));
        Ok(Origin {
            base: base.clone(),
            prefix,
            folder,
            host,
            addr,
        })
    }

    /// The request target (path and query) of a task's `path`: under the base
    /// URL's path (`/x` on `http://h/api` is `/api/x`; a relative `x` too),
    /// escaped where needed; an absolute URL is used as is and must be on
    /// this origin.
    pub fn target(&self, path: &str) -> Result<String, String> {
        let plain = |p: &str| p.starts_with('/') && p.bytes().all(|b| (0x21..0x7f).contains(&b));
        if plain(path) {
            return Ok(format!("{}{path}", self.prefix));
        }
        let url = match Url::parse(path) {
            Ok(url) if url.host().is_some() => Ok(url),
            _ if path.starts_with('/') => self.folder.join(&format!("{}{path}", self.prefix)),
            _ => self.folder.join(path),
        }
        .map_err(|e| format!("'{path}': {e}"))?;
        self.on_origin(path, &url)
    }

    /// Where a redirect from `current` (a request target) to `location` goes:
    /// resolved as a browser would (no base path added), on this origin only.
    pub fn location(&self, current: &str, location: &str) -> Result<String, String> {
        let url = self
            .base
            .join(current)
            .and_then(|here| here.join(location))
            .map_err(|e| format!("'{location}': {e}"))?;
        self.on_origin(location, &url)
    }

    fn on_origin(&self, asked: &str, url: &Url) -> Result<String, String> {
        if url.origin() != self.base.origin() {
            return Err(format!(
                "'{asked}' is not on {}: per-user connections reach the run's host only",
                self.host
            ));
        }
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        })
    }
}

/// A response, read whole.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request got no response.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpError {
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

/// A request, as the virtual user hands it over.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [(String, String)],
    pub content_type: Option<&'a str>,
    pub body: Option<&'a [u8]>,
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
    /// reads the whole response within `timeout`, following redirects within
    /// the origin. Cancel-safe: dropped half way, the connection is not reused.
    pub async fn send(
        &mut self,
        request: &Request<'_>,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        match tokio::time::timeout(timeout, self.send_following(request)).await {
            Ok(result) => result,
            Err(_) => {
                // Whatever was in flight is unknown: the connection is spent.
                self.conn = None;
                Err(HttpError::Timeout)
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(base: &str) -> Origin {
        Origin::of(&Url::parse(base).unwrap()).unwrap()
    }

    #[test]
    fn origins_know_where_to_connect_and_what_host_to_send() {
        let o = origin("http://127.0.0.1:8080");
        assert_eq!(
            (o.addr.as_str(), o.host.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080")
        );
        let o = origin("http://example.test/");
        assert_eq!(
            (o.addr.as_str(), o.host.as_str()),
            ("example.test:80", "example.test")
        );
        let o = origin("http://[::1]:9000");
        assert_eq!(
            (o.addr.as_str(), o.host.as_str()),
            ("[::1]:9000", "[::1]:9000")
        );
        assert!(Origin::of(&Url::parse("https://x.test").unwrap())
            .unwrap_err()
            .contains("--connections shared"));
    }

    #[test]
    fn targets_stay_on_the_origin() {
        let o = origin("http://127.0.0.1:8080");
        assert_eq!(o.target("/books?q=a").unwrap(), "/books?q=a");
        assert_eq!(o.target("/a b").unwrap(), "/a%20b");
        assert_eq!(o.target("http://127.0.0.1:8080/x?y=1").unwrap(), "/x?y=1");
        assert!(o
            .target("http://elsewhere.test/x")
            .unwrap_err()
            .contains("host only"));
        assert_eq!(
            origin("http://h.test/base/").target("next").unwrap(),
            "/base/next"
        );
    }

    #[test]
    fn a_base_path_prefixes_every_path_but_not_redirects() {
        for base in ["http://h.test/api", "http://h.test/api/"] {
            let o = origin(base);
            assert_eq!(o.target("/books?q=a").unwrap(), "/api/books?q=a");
            assert_eq!(o.target("books").unwrap(), "/api/books");
            assert_eq!(o.target("/a b").unwrap(), "/api/a%20b");
            assert_eq!(o.target("http://h.test/other").unwrap(), "/other");
            // The server's Location is where it says, relative to the request.
            assert_eq!(o.location("/api/books", "/login").unwrap(), "/login");
            assert_eq!(o.location("/api/books", "next").unwrap(), "/api/next");
            assert!(o.location("/api/x", "http://evil.test/").is_err());
        }
    }
}
