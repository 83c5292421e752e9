//! The shared connection model (`--connections shared`): every user's requests
//! go through one reqwest connection pool (the same TLS and HTTP versions as
//! users' own connections). Raw throughput; it does not model users'
//! connections. Each user still keeps its own cookies and follows its own
//! redirects (`client::user`); the pool only carries the exchanges.

use super::body::Body;
use super::exchange::{Answer, Failed, ACCEPT_ENCODING};
use super::headers::Headers;
use super::origin::Target;
use super::settings::{ClientSettings, HttpMode};
use super::tls::TlsContext;
use crate::metrics::FailureKind;
use std::time::Instant;

/// The run's one pool, on the run's TLS configuration.
pub fn pool(settings: &ClientSettings, tls: &TlsContext) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("loadgen/", env!("CARGO_PKG_VERSION")))
        .use_preconfigured_tls(tls.shared())
        // Users follow their own redirects and keep their own cookies.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    builder = match settings.http {
        HttpMode::H1 => builder.http1_only(),
        HttpMode::H2 => builder.http2_prior_knowledge(),
        HttpMode::Auto => builder,
    };
    for c in &settings.connect_to {
        let to: std::net::SocketAddr = c.to.parse().map_err(|_| {
            format!(
                "--connect-to {}:{}:{}: the shared pool needs an IP address and port here",
                c.host, c.port, c.to
            )
        })?;
        if to.port() != c.port {
            return Err(format!(
                "--connect-to {}:{}:{}: the shared pool can send a host to another address, not another port (the per-user model can)",
                c.host, c.port, c.to
            ));
        }
        builder = builder.resolve(&c.host, to);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// One exchange through the pool: the answer (its body at most `max_body`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn exchange(
    pool: &reqwest::Client,
    target: &Target,
    method: &str,
    cookie: Option<&str>,
    headers: &[(String, String)],
    body: &Body,
    compress: bool,
    max_body: usize,
) -> Result<Answer, Failed> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| Failed::new(FailureKind::Other, e.to_string(), false, true))?;
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut builder = pool.request(method, target.url());
    for (k, v) in headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(cookie) = cookie {
        builder = builder.header(reqwest::header::COOKIE, cookie);
    }
    if compress && !given("accept-encoding") {
        builder = builder.header(reqwest::header::ACCEPT_ENCODING, ACCEPT_ENCODING);
    }
    if let Some(ct) = body.content_type().filter(|_| !given("content-type")) {
        builder = builder.header(reqwest::header::CONTENT_TYPE, ct);
    }
    match (body.in_memory(), body.len()) {
        (Some(bytes), _) => builder = builder.body(bytes.to_vec()),
        (None, Some(len)) => {
            builder = builder
                .header(reqwest::header::CONTENT_LENGTH, len)
                .body(reqwest::Body::wrap_stream(body.stream()));
        }
        (None, None) => {}
    }
    let started = Instant::now();
    let mut resp = builder.send().await.map_err(classify)?;
    let ttfb_us = started.elapsed().as_micros() as u64;
    let status = resp.status().as_u16();
    let limit = |n: u64| {
        Failed::new(
            FailureKind::Protocol,
            format!("body of {n} bytes is over the {max_body} byte limit"),
            false,
            true,
        )
    };
    if let Some(n) = resp.content_length().filter(|&n| n > max_body as u64) {
        return Err(limit(n));
    }
    let headers = Headers::from(resp.headers());
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > max_body {
            return Err(limit((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
        ttfb_us,
        connect_us: None,
        tls_us: None,
    })
}

/// A reqwest error as a failure: its kind, and its causes without the URL, so
/// one endpoint's errors group under one message.
fn classify(e: reqwest::Error) -> Failed {
    let mut causes = String::new();
    let mut source = std::error::Error::source(&e);
    let mut tls = false;
    while let Some(inner) = source {
        tls |= inner.downcast_ref::<rustls::Error>().is_some();
        causes = format!("{causes}: {inner}");
        source = inner.source();
    }
    let kind = if e.is_timeout() {
        FailureKind::Timeout
    } else if tls {
        FailureKind::Tls
    } else if e.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Other
    };
    Failed::new(kind, format!("{}{causes}", e.without_url()), false, true)
}
