//! The shared connection model (`--connections shared`): every user's
//! requests go through one reqwest connection pool. Raw throughput; it does not
//! model users' connections.

use super::{Failure, Request, Response};
use crate::metrics::FailureKind;
use std::sync::Arc;

/// The run's one pool, and the base URL paths go under.
#[derive(Clone)]
pub struct SharedPool {
    pool: reqwest::Client,
    base: Arc<reqwest::Url>,
    max_body: usize,
}

impl SharedPool {
    pub fn new(base: reqwest::Url, max_body: usize) -> Result<SharedPool, String> {
        let pool = reqwest::Client::builder()
            .user_agent(concat!("loadgen/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(SharedPool {
            pool,
            base: Arc::new(base),
            max_body,
        })
    }

    /// Sends through the pool and reads the whole answer (at most `max_body`).
    pub async fn send(&self, request: &Request<'_>) -> Result<Response, Failure> {
        let url = under_base(&self.base, request.path)
            .map_err(|e| Failure::new(FailureKind::Other, format!("'{}': {e}", request.path)))?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| Failure::new(FailureKind::Other, e.to_string()))?;
        let mut builder = self.pool.request(method, url).timeout(request.timeout);
        for (k, v) in request.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(ct) = request.content_type {
            builder = builder.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if let Some(body) = request.body {
            builder = builder.body(body.to_vec());
        }
        let mut resp = builder.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        if let Some(n) = resp.content_length().filter(|&n| n > self.max_body as u64) {
            return Err(Failure::new(
                FailureKind::Protocol,
                format!("body of {n} bytes is over the {} byte limit", self.max_body),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.max_body {
                return Err(Failure::new(
                    FailureKind::Protocol,
                    format!("body over the {} byte limit", self.max_body),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    }
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

/// A reqwest error as a failure: its kind, and its causes without the URL, so
/// one endpoint's errors group under one message.
fn classify(e: reqwest::Error) -> Failure {
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
    Failure::new(kind, format!("{}{causes}", e.without_url()))
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
