//! The target of a run: a reachability check, so a wrong `--host` fails in
//! seconds instead of recording a run of connection errors.

use crate::Error;
use std::time::Duration;

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
