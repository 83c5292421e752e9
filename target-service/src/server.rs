//! Running the service: connect, migrate, seed, start background tasks, serve, drain.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::embedded_sqlite_path;
use crate::events::{run_relay, Notifier};
use crate::http::accept::serve_http;
use crate::{app, AppState, Config};

/// Serves until `shutdown` fires, then stops accepting, lets in-flight requests finish
/// within `SHUTDOWN_GRACE_SECS`, and stops the background tasks.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // etcd's values first (once: `Config::load` may have read them already), so a
    // DATABASE_URL from etcd is seen before the embedded default is filled in.
    #[cfg(feature = "etcd")]
    let config = crate::config::etcd::load_at_start(config).await;
    let mut config = config;
    let grace = config.shutdown_grace;
    // The embedded database lives only as long as this process serves.
    let embedded_dir = match config.database_url {
        Some(_) => None,
        None => {
            let path = embedded_sqlite_path();
            config.database_url = Some(path.to_string_lossy().into_owned());
            path.parent().map(std::path::Path::to_path_buf)
        }
    };
    let result = serve_until(config, listener, shutdown, grace).await;
    if let Some(dir) = embedded_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

async fn serve_until(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    grace: std::time::Duration,
) -> anyhow::Result<()> {
    let state = AppState::connect(config).await?;
    let tasks = TaskTracker::new();
    let background = shutdown.child_token();
    spawn_background(&state, &tasks, &background);

    let addr = listener.local_addr()?;
    tracing::info!(%addr, db = state.store.backend(), cache = state.cache.backend(), events = state.publisher.backend(), "serving");
    let header_read_timeout = state.config.header_read_timeout;
    let server = tokio::spawn(serve_http(
        listener,
        app(state),
        header_read_timeout,
        shutdown.clone(),
    ));
    shutdown.cancelled().await;
    let drained = tokio::time::timeout(grace, server).await;
    if drained.is_err() {
        tracing::warn!(
            ?grace,
            "in-flight requests did not finish within the grace period"
        );
    }
    background.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!("background tasks did not stop in time");
    }
    if let Ok(joined) = drained {
        joined?;
    }
    Ok(())
}

fn spawn_background(state: &AppState, tasks: &TaskTracker, stop: &CancellationToken) {
    tasks.spawn(run_relay(
        state.store.clone(),
        state.publisher.clone(),
        state.config.outbox_poll,
        state.config.outbox_retention,
        stop.clone(),
    ));
    let publisher = state.publisher.clone();
    let notifier = Notifier::new(state.config.sendgrid_api_key.clone());
    let stop = stop.clone();
    tasks.spawn(async move {
        // The consumer reconnects after failures until shutdown.
        while !stop.is_cancelled() {
            if let Err(e) = publisher.consume(notifier.clone(), stop.clone()).await {
                tracing::warn!(error = %e, "event consumer stopped; restarting");
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            }
        }
    });
}
