//! The per-user connection model: each virtual user holds its own keep-alive
//! connection to each origin it talks to (opened on first use, reopened when
//! the server closes it, closed when the user stops): HTTP/1.1 from the user's
//! own task, or HTTP/2 where ALPN (or `--http 2`) says so; TLS with the user's
//! own session cache; its own cookies per host; redirects followed to any
//! origin, as a browser does.

use super::cookies::CookieJar;
use super::decode::decode;
use super::dial::Dialer;
use super::exchange::{Answer, Failed, ACCEPT_ENCODING};
use super::h1::conn::{Conn, ExchangeError, RawResponse};
use super::h1::wire;
use super::h2::{H2Conn, H2Error};
use super::origin::{Base, Origin, Target};
use super::{Body, Failure, Request, Response};
use crate::metrics::FailureKind;
use rustls::ClientConfig;
use std::sync::Arc;

/// The body a redirect to a GET sends: none.
static NO_BODY: Body = Body::Empty;

/// What every user of a run shares.
pub struct UserRun {
    pub base: Base,
    pub dialer: Dialer,
    /// The shared model's pool: requests go through it, not the user's own
    /// connections (`--connections shared`).
    pub pool: Option<reqwest::Client>,
    pub max_body: usize,
    /// Ask for compressed answers on every request (`--compress`).
    pub compress: bool,
}

/// One virtual user's HTTP: its connections, cookies and TLS sessions.
pub struct UserHttp {
    run: Arc<UserRun>,
    conns: Vec<Held>,
    cookies: Vec<(String, CookieJar)>,
    /// The user's own TLS configuration (its session cache), made on its first https.
    tls: Option<Arc<ClientConfig>>,
    /// The source address its connections go out from (`--local-ips`).
    source: Option<std::net::IpAddr>,
}

/// A connection the user holds to one origin.
struct Held {
    origin: Arc<Origin>,
    wire: Wire,
}

enum Wire {
    H1(Conn),
    H2(H2Conn),
}

impl Wire {
    /// Whether it can carry the next request.
    fn usable(&self) -> bool {
        match self {
            // An exchange abandoned half way left the stream out of step.
            Wire::H1(c) => !c.unsettled(),
            Wire::H2(c) => !c.is_closed(),
        }
    }
}

impl UserHttp {
    pub fn new(run: Arc<UserRun>, source: Option<std::net::IpAddr>) -> UserHttp {
        UserHttp {
            run,
            conns: Vec::new(),
            cookies: Vec::new(),
            tls: None,
            source,
        }
    }

    /// Sends the request on the user's connection to its origin (opening it if
    /// needed) and reads the whole answer within its timeout, following
    /// redirects. Cancel-safe: dropped half way, an HTTP/1.1 connection is not
    /// reused, and an HTTP/2 stream is reset.
    pub async fn send(&mut self, request: &Request<'_>) -> Result<Response, Failure> {
        match tokio::time::timeout(request.timeout, self.send_following(request)).await {
            Ok(result) => result,
            Err(_) => {
                // Whatever was in flight on HTTP/1.1 is unknown: that connection
                // is spent (it says so itself: it is left unsettled).
                Err(Failure::timeout(request.timeout))
            }
        }
    }

    async fn send_following(&mut self, request: &Request<'_>) -> Result<Response, Failure> {
        let run = self.run.clone();
        let mut target = run
            .base
            .resolve(request.path)
            .map_err(|why| Failure::new(FailureKind::Other, why))?;
        let (mut method, mut body) = (request.method, request.body);
        let limit = request.max_redirects;
        let mut redirected = false;
        for hop in 0..=limit {
            let answer = self
                .exchange(&target, method, request.headers, body)
                .await?;
            let jar = self.jar(&target.origin.host);
            for cookie in answer.headers.get_all("set-cookie") {
                jar.set(cookie);
            }
            let status = answer.status;
            let location = answer
                .headers
                .get("location")
                .filter(|_| matches!(status, 301 | 302 | 303 | 307 | 308));
            let Some(location) = location else {
                return self.finish(answer, redirected.then(|| target.url()));
            };
            if hop == limit {
                if limit == 0 {
                    // Not following redirects: the redirect is the answer.
                    return self.finish(answer, None);
                }
                return Err(Failure::new(
                    FailureKind::Protocol,
                    format!("more than {limit} redirects (the last to {})", target.url()),
                ));
            }
            let Ok(next) = run.base.location(&target, location) else {
                // A Location that is not a URL we can follow: the answer stands.
                return self.finish(answer, redirected.then(|| target.url()));
            };
            target = next;
            redirected = true;
            // As browsers do: 303 (and 301/302 after a POST) become a GET.
            if status == 303 || (matches!(status, 301 | 302) && method == "POST") {
                (method, body) = ("GET", &NO_BODY);
            }
        }
        unreachable!("the last hop returns")
    }

    /// The final answer, its body decoded when it came compressed.
    fn finish(&self, answer: Answer, url: Option<String>) -> Result<Response, Failure> {
        let Answer {
            status,
            headers,
            mut body,
            ttfb_us,
            connect_us,
            tls_us,
        } = answer;
        if let Some(encoding) = headers.get("content-encoding") {
            let decoded = decode(encoding, &body, self.run.max_body)
                .map_err(|why| Failure::new(FailureKind::Protocol, why))?;
            if let Some(decoded) = decoded {
                self.run
                    .dialer
                    .meter
                    .transferred(body.len() as u64, decoded.len() as u64);
                body = decoded;
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            url,
            ttfb_us: Some(ttfb_us),
            connect_us,
            tls_us,
        })
    }

    /// The user's cookies for `host`.
    fn jar(&mut self, host: &str) -> &mut CookieJar {
        let at = match self.cookies.iter().position(|(h, _)| h == host) {
            Some(at) => at,
            None => {
                self.cookies.push((host.to_string(), CookieJar::default()));
                self.cookies.len() - 1
            }
        };
        &mut self.cookies[at].1
    }

    /// One request and its answer on the user's connection to the target's
    /// origin. A reused connection the server had closed while idle (HTTP/1.1)
    /// or refused the stream on (HTTP/2) is reopened and the request sent
    /// again, once.
    async fn exchange(
        &mut self,
        target: &Target,
        method: &str,
        headers: &[(String, String)],
        body: &Body,
    ) -> Result<Answer, Failure> {
        let cookie = self
            .cookies
            .iter()
            .find(|(h, _)| *h == target.origin.host)
            .and_then(|(_, jar)| jar.header())
            .map(str::to_string);
        let (compress, max_body) = (self.run.compress, self.run.max_body);
        if let Some(pool) = &self.run.pool {
            return super::shared::exchange(
                pool,
                target,
                method,
                cookie.as_deref(),
                headers,
                body,
                compress,
                max_body,
            )
            .await
            .map_err(|f| f.failure);
        }
        let origin = &target.origin;
        self.conns
            .retain(|held| !held.origin.same(origin) || held.wire.usable());
        let mut reused = self.conns.iter().any(|h| h.origin.same(origin));
        loop {
            let (at, dialed) = self.connection(origin).await?;
            let held = &mut self.conns[at];
            let outcome = match &mut held.wire {
                Wire::H1(conn) => {
                    h1_exchange(
                        conn,
                        target,
                        method,
                        cookie.as_deref(),
                        headers,
                        body,
                        compress,
                        max_body,
                    )
                    .await
                }
                Wire::H2(conn) => {
                    h2_exchange(
                        conn,
                        target,
                        method,
                        cookie.as_deref(),
                        headers,
                        body,
                        compress,
                        max_body,
                    )
                    .await
                }
            };
            match outcome {
                Ok((mut answer, keep)) => {
                    if !keep {
                        self.conns.remove(at);
                    }
                    if let Some((connect_us, tls_us)) = dialed {
                        (answer.connect_us, answer.tls_us) = (Some(connect_us), tls_us);
                    }
                    return Ok(answer);
                }
                Err(Failed {
                    failure,
                    retry,
                    keep,
                }) => {
                    if !keep {
                        self.conns.remove(at);
                    }
                    if !(retry && reused) {
                        return Err(failure);
                    }
                    reused = false;
                }
            }
        }
    }

    /// The index of the user's connection to `origin`, dialed if it has none
    /// (then with its connect and TLS handshake times).
    async fn connection(
        &mut self,
        origin: &Arc<Origin>,
    ) -> Result<(usize, Option<(u64, Option<u64>)>), Failure> {
        if let Some(at) = self.conns.iter().position(|h| h.origin.same(origin)) {
            return Ok((at, None));
        }
        let dialer = &self.run.dialer;
        let config = self
            .tls
            .get_or_insert_with(|| dialer.tls.for_user())
            .clone();
        let dialed = dialer.dial(origin, &config, self.source).await?;
        let timings = (dialed.connect_us, dialed.tls_us);
        let wire = if dialed.h2 {
            match H2Conn::handshake(dialed.stream, &dialer.meter).await {
                Ok(conn) => Wire::H2(conn),
                Err(why) => return Err(Failure::new(FailureKind::Protocol, why)),
            }
        } else {
            Wire::H1(Conn::new(dialed.stream, &dialer.meter))
        };
        self.conns.push(Held {
            origin: origin.clone(),
            wire,
        });
        Ok((self.conns.len() - 1, Some(timings)))
    }
}

/// A request on an HTTP/1.1 connection: the answer and whether to keep the
/// connection, or the failure and whether sending again may help.
#[allow(clippy::too_many_arguments)]
async fn h1_exchange(
    conn: &mut Conn,
    target: &Target,
    method: &str,
    cookie: Option<&str>,
    headers: &[(String, String)],
    body: &Body,
    compress: bool,
    max_body: usize,
) -> Result<(Answer, bool), Failed> {
    let mut extra;
    let headers = if compress
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept-encoding"))
    {
        extra = headers.to_vec();
        extra.push(("Accept-Encoding".into(), ACCEPT_ENCODING.into()));
        &extra[..]
    } else {
        headers
    };
    wire::write_request(
        &mut conn.wbuf,
        method,
        &target.path,
        &target.origin.authority,
        cookie,
        headers,
        body.content_type().as_deref(),
        body,
    );
    let streamed = body
        .in_memory()
        .is_none()
        .then_some(body)
        .filter(|b| b.len().is_some());
    match conn.exchange(method, streamed, max_body).await {
        Ok(RawResponse {
            head,
            body,
            ttfb_us,
        }) => Ok((
            Answer {
                status: head.status,
                headers: head.headers,
                body,
                ttfb_us,
                connect_us: None,
                tls_us: None,
            },
            head.keep_alive,
        )),
        Err(e) => Err(match e {
            ExchangeError::ClosedBeforeResponse(why) => {
                Failed::new(FailureKind::Connect, why, true, false)
            }
            ExchangeError::Write(e) => Failed::new(
                FailureKind::Connect,
                format!("sending the request: {e}"),
                true,
                false,
            ),
            ExchangeError::Read(why) => Failed::new(FailureKind::Connect, why, false, false),
            ExchangeError::Protocol(why) => Failed::new(FailureKind::Protocol, why, false, false),
            ExchangeError::Tls(why) => Failed::new(FailureKind::Tls, why, false, false),
        }),
    }
}

/// Headers HTTP/2 carries in its own way, or forbids.
const NOT_IN_H2: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// A request as a stream on an HTTP/2 connection.
#[allow(clippy::too_many_arguments)]
async fn h2_exchange(
    conn: &mut H2Conn,
    target: &Target,
    method: &str,
    cookie: Option<&str>,
    headers: &[(String, String)],
    body: &Body,
    compress: bool,
    max_body: usize,
) -> Result<(Answer, bool), Failed> {
    let bad = |why: String| Failed::new(FailureKind::Other, why, false, true);
    let uri = format!(
        "{}://{}{}",
        target.origin.scheme(),
        target.origin.authority,
        target.path
    );
    let mut builder = http::Request::builder().method(method).uri(uri);
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !given("user-agent") {
        builder = builder.header("user-agent", concat!("loadgen/", env!("CARGO_PKG_VERSION")));
    }
    if !given("accept") {
        builder = builder.header("accept", "*/*");
    }
    if compress && !given("accept-encoding") {
        builder = builder.header("accept-encoding", ACCEPT_ENCODING);
    }
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    if let Some(ct) = body.content_type().filter(|_| !given("content-type")) {
        builder = builder.header("content-type", ct);
    }
    for (name, value) in headers {
        if NOT_IN_H2.iter().any(|n| name.eq_ignore_ascii_case(n)) {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(())
        .map_err(|e| bad(format!("the request: {e}")))?;
    match conn.exchange(request, body, max_body).await {
        Ok(r) => Ok((
            Answer {
                status: r.status,
                headers: r.headers,
                body: r.body,
                ttfb_us: r.ttfb_us,
                connect_us: None,
                tls_us: None,
            },
            true,
        )),
        Err(H2Error::Refused(why)) => Err(Failed::new(FailureKind::Connect, why, true, false)),
        Err(H2Error::Connection(why)) => Err(Failed::new(FailureKind::Connect, why, false, false)),
        // A stream's own trouble: the connection carries the next one.
        Err(H2Error::Protocol(why)) => Err(Failed::new(FailureKind::Protocol, why, false, true)),
    }
}
