//! etcd as a configuration source (feature `etcd`): the prefix is read once at start,
//! under the environment and over the defaults, then watched, so the live knobs follow
//! it within a second. Unreachable at start, the service starts on the environment and
//! defaults and keeps trying; lost later, the current values stay until it is back,
//! when the prefix is read again and watched anew.

use std::sync::{Arc, Weak};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions, EventType, GetOptions, WatchOptions};

/// The client crate, for the tests and tools that write knobs.
pub use etcd_client;

use super::keys::by_path;
use super::knobs::{EtcdStatus, Knobs};
use super::Config;

/// How long the start waits for etcd before going on without it.
const START_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Pauses between attempts to reach etcd again: doubling from the first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_LAST: Duration = Duration::from_secs(5);

/// The endpoints of `ETCD_URL` (comma-separated).
fn endpoints(url: &str) -> Vec<String> {
    url.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

async fn connect(url: &str) -> Result<Client, etcd_client::Error> {
    // HTTP/2 pings find a silent network partition; no pings more often than every
    // 5 s, the server's default minimum, or it hangs up on the client.
    let options = ConnectOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
        .with_keep_alive_while_idle(true);
    Client::connect(endpoints(url), Some(options)).await
}

/// Every key below `prefix` as (key below the prefix, value), and the revision read.
async fn read_prefix(
    client: &mut Client,
    prefix: &str,
) -> Result<(Vec<(String, String)>, i64), etcd_client::Error> {
    let read = client.get(prefix, Some(GetOptions::new().with_prefix()));
    let response = match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(response) => response?,
        Err(_) => {
            return Err(etcd_client::Error::IoError(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "reading the prefix timed out",
            )))
        }
    };
    let revision = response.header().map_or(0, |h| h.revision());
    let mut values = Vec::new();
    for kv in response.kvs() {
        match (kv.key_str(), kv.value_str()) {
            (Ok(key), Ok(value)) => {
                if let Some(path) = key.strip_prefix(prefix) {
                    values.push((path.to_string(), value.to_string()));
                }
            }
            _ => {
                tracing::warn!(key = %String::from_utf8_lossy(kv.key()), "etcd key or value is not UTF-8; ignored")
            }
        }
    }
    Ok((values, revision))
}

/// `config` with etcd's values under its environment's, when `ETCD_URL` is set and
/// etcd answers within a few seconds; else `config` as it is, said in the log.
pub async fn load_at_start(config: Config) -> Config {
    let Some(url) = config.etcd_url.clone() else {
        return config;
    };
    if config.layers.etcd_tried() {
        return config;
    }
    let mut layers = config.layers.clone();
    layers.mark_etcd_tried();
    let prefix = config.etcd_prefix.clone();
    let read = async {
        let mut client = connect(&url).await?;
        read_prefix(&mut client, &prefix).await
    };
    let (values, revision) = match tokio::time::timeout(START_TIMEOUT, read).await {
        Ok(Ok(read)) => read,
        outcome => {
            let error = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {START_TIMEOUT:?}"),
            };
            tracing::warn!(%url, %error, "etcd is unreachable: starting on the environment and defaults; retrying in the background");
            return Config { layers, ..config };
        }
    };
    for (path, value) in &values {
        let Some(key) = by_path(path) else {
            tracing::warn!(key = %format!("{prefix}{path}"), "unknown configuration key in etcd; ignored");
            continue;
        };
        if let Err(refusal) = layers.set_etcd(key, Some(value)) {
            let value = key.loggable(value);
            tracing::warn!(key = %format!("{prefix}{path}"), value = value.as_str(), reason = %refusal.reason, "refused a configuration value from etcd; using the default");
        }
    }
    match Config::from_layers(layers.clone()) {
        Ok(read) => {
            let keys = read.layers.etcd_values().len();
            tracing::info!(%url, %prefix, keys, revision, "configuration read from etcd");
            read
        }
        Err(e) => {
            tracing::warn!(error = %e, "refused the configuration from etcd; starting on the environment and defaults");
            Config { layers, ..config }
        }
    }
}

/// Watches the prefix for as long as `knobs` live (a task of its own).
pub fn spawn_watch(knobs: &Arc<Knobs>) {
    let Some(url) = knobs.started().etcd_url.clone() else {
        return;
    };
    let prefix = knobs.started().etcd_prefix.clone();
    let stop = knobs.dropped();
    let knobs = Arc::downgrade(knobs);
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = watch_forever(knobs, url, prefix) => {}
        }
    });
}

async fn watch_forever(knobs: Weak<Knobs>, url: String, prefix: String) {
    let mut pause = RETRY_FIRST;
    loop {
        let outcome = watch_once(&knobs, &url, &prefix).await;
        let Some(live) = knobs.upgrade() else {
            return;
        };
        if live.etcd_status() == EtcdStatus::Watching {
            let error = outcome.err().map(|e| e.to_string()).unwrap_or_default();
            tracing::warn!(%url, %error, "lost etcd: keeping the current values; watching again when it is back");
            pause = RETRY_FIRST;
        }
        live.set_etcd_status(EtcdStatus::Unreachable);
        drop(live);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RETRY_LAST);
    }
}

/// Reads the prefix, applies it whole, then applies each change until the watch ends.
async fn watch_once(
    knobs: &Weak<Knobs>,
    url: &str,
    prefix: &str,
) -> Result<(), etcd_client::Error> {
    let mut client = connect(url).await?;
    let (values, revision) = read_prefix(&mut client, prefix).await?;
    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1);
    let mut stream = client.watch(prefix, Some(options)).await?;
    {
        let Some(live) = knobs.upgrade() else {
            return Ok(());
        };
        live.replace_etcd_values(values.iter().map(|(p, v)| (p.as_str(), v.as_str())));
        if live.etcd_status() != EtcdStatus::Watching {
            tracing::info!(%url, %prefix, revision, "watching etcd for configuration changes");
        }
        live.set_etcd_status(EtcdStatus::Watching);
    }
    while let Some(response) = stream.message().await? {
        if response.canceled() {
            tracing::warn!(
                reason = response.cancel_reason(),
                compacted_to = response.compact_revision(),
                "etcd ended the watch; reading the prefix again"
            );
            return Ok(());
        }
        let Some(live) = knobs.upgrade() else {
            return Ok(());
        };
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let Some(path) = kv.key_str().ok().and_then(|k| k.strip_prefix(prefix)) else {
                continue;
            };
            match (event.event_type(), kv.value_str()) {
                (EventType::Put, Ok(value)) => live.set_etcd_value(path, Some(value)),
                (EventType::Put, Err(_)) => {
                    tracing::warn!(key = %format!("{prefix}{path}"), "etcd value is not UTF-8; the last good value stays")
                }
                (EventType::Delete, _) => live.set_etcd_value(path, None),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_comma_separated() {
        assert_eq!(
            endpoints("http://127.0.0.1:2379, http://10.0.0.2:2379,"),
            ["http://127.0.0.1:2379", "http://10.0.0.2:2379"]
        );
    }
}
