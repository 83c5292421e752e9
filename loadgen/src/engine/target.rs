//! The target of a run: `--host` checked before anything runs (a URL loadgen
//! can speak to), and a reachability check done the way the users will
//! connect (TLS included, with the run's roots and ALPN), so a wrong `--host`
//! or a certificate the run cannot verify fails in seconds, with the reason
//! and the flag that would help, instead of recording a run of failures.

use crate::client::dial::Dialer;
use crate::client::origin::Origin;
use crate::client::tls::TlsContext;
use crate::client::ClientSettings;
use crate::metrics::ConnectionMeter;
use crate::Error;
use reqwest::Url;
use std::sync::Arc;
use std::time::Duration;

/// Checks `--host`: an `http` or `https` URL with a host name, no query or
/// fragment. A path is kept: it prefixes every request's path.
pub fn check_host(host: &str) -> Result<Url, String> {
    let url = Url::parse(host).map_err(|e| format!("--host '{host}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "--host '{host}': loadgen speaks http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "--host '{host}' needs a host name, as in http://127.0.0.1:8080"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "--host '{host}': a base URL takes no query or fragment (put them in the request paths)"
        ));
    }
    Ok(url)
}

/// What the check found: how the target speaks, for the start's line.
pub struct Reached {
    /// `HTTP/2` or `HTTP/1.1` (by ALPN on https; as asked on http).
    pub protocol: &'static str,
    pub tls: bool,
}

/// Connects to the target as a user would (`--connect-to`, TLS, ALPN):
/// unreachable is exit 3; so is a TLS handshake that fails, naming the host,
/// the reason and the flag that would help.
pub async fn preflight(host: &str, settings: &ClientSettings) -> Result<Reached, Error> {
    let url =
        Url::parse(host).map_err(|e| Error::Usage(format!("--host '{host}' is not a URL: {e}")))?;
    let origin = Origin::of(&url).map_err(Error::Usage)?;
    let tls = TlsContext::new(&settings.tls, settings.http).map_err(Error::Usage)?;
    let dialer = Dialer {
        connect_to: settings.connect_to.clone(),
        tls,
        mode: settings.http,
        meter: Arc::new(ConnectionMeter::default()),
    };
    let config = dialer.tls.for_user();
    let source = settings.local_ips.first().copied();
    let dial = async {
        dialer
            .dial(&origin, &config, source)
            .await?
            .settled(&origin)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(5), dial).await {
        Ok(Ok(dialed)) => Ok(Reached {
            protocol: if dialed.h2 { "HTTP/2" } else { "HTTP/1.1" },
            tls: origin.tls,
        }),
        Ok(Err(failure)) => Err(Error::Unreachable(format!(
            "{host} ({}): {}",
            dialer.route(&origin),
            failure.message
        ))),
        Err(_) => Err(Error::Unreachable(format!(
            "no answer from {} ({host}) within 5 s",
            dialer.route(&origin)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_loadgen_speaks_is_a_host() {
        assert!(check_host("http://127.0.0.1:8080").is_ok());
        assert_eq!(check_host("http://h.test/api/").unwrap().path(), "/api/");
        assert!(check_host("https://h.test").is_ok());
        for (host, says) in [
            ("ftp://h.test", "http or https, not ftp"),
            ("http://h.test/?a=1", "no query"),
            ("http://h.test/#top", "no query or fragment"),
            ("h.test:80", "http or https"),
            ("127.0.0.1:8080", "not a URL"),
        ] {
            let e = check_host(host).unwrap_err();
            assert!(e.contains(says), "{host}: {e}");
        }
    }
}
