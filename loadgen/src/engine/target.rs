//! The target of a run: `--host` checked before anything runs (a URL loadgen
//! can speak to), and a reachability check, so a wrong `--host` fails in
//! seconds instead of recording a run of connection errors.

use crate::client::origin::Origin;
use crate::client::ConnectionModel;
use crate::Error;
use reqwest::Url;
use std::time::Duration;

/// Checks `--host`: an `http` or `https` URL with a host name, no query or
/// fragment, and `https` only on the shared pool (per-user connections speak
/// plain HTTP). A path is kept: it prefixes every request's path.
pub fn check_host(host: &str, connections: ConnectionModel) -> Result<Url, String> {
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
    if connections == ConnectionModel::PerUser {
        Origin::of(&url)?;
    }
    Ok(url)
}

/// Checks the target accepts connections.
pub async fn preflight(host: &str) -> Result<(), Error> {
    let url = reqwest::Url::parse(host)
        .map_err(|e| Error::Usage(format!("--host '{host}' is not a URL: {e}")))?;
    let addr = match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        _ => {
            return Err(Error::Usage(format!(
                "--host '{host}' needs a host name, as in http://127.0.0.1:8080"
            )))
        }
    };
    let connect = tokio::net::TcpStream::connect(addr.clone());
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Unreachable(format!(
            "cannot connect to {addr} ({host}): {e}"
        ))),
        Err(_) => Err(Error::Unreachable(format!(
            "no answer from {addr} ({host}) within 3 s"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_loadgen_speaks_is_a_host() {
        let per_user = ConnectionModel::PerUser;
        assert!(check_host("http://127.0.0.1:8080", per_user).is_ok());
        assert_eq!(
            check_host("http://h.test/api/", per_user).unwrap().path(),
            "/api/"
        );
        assert!(check_host("https://h.test", ConnectionModel::Shared).is_ok());
        for (host, says) in [
            ("ftp://h.test", "http or https, not ftp"),
            ("https://h.test", "--connections shared"),
            ("http://h.test/?a=1", "no query"),
            ("http://h.test/#top", "no query or fragment"),
            ("h.test:80", "http or https"),
            ("127.0.0.1:8080", "not a URL"),
        ] {
            let e = check_host(host, per_user).unwrap_err();
            assert!(e.contains(says), "{host}: {e}");
        }
    }
}
