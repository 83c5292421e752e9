//! The bundled target: a service the user's crate hands over, started in this
//! process on a free loopback port when no --host is given, stopped after.

use super::scenario::BoxFuture;
use crate::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves on the listener until the token is cancelled.
pub type StartFn = Arc<
    dyn Fn(TcpListener, CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync,
>;

#[derive(Clone)]
pub struct BundledTarget {
    pub name: String,
    /// Answers 200 once the service can take load.
    pub ready_path: String,
    pub start: StartFn,
}

/// A started bundled target.
pub struct Running {
    pub url: String,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl BundledTarget {
    pub async fn start(&self) -> Result<Running, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::io("cannot bind a loopback port"))?;
        let addr = listener
            .local_addr()
            .map_err(Error::io("cannot read the bound port"))?;
        let url = format!("http://{addr}");
        let stop = CancellationToken::new();
        let task = tokio::spawn((self.start)(listener, stop.clone()));
        let running = Running { url, stop, task };
        running.wait_ready(&self.name, &self.ready_path).await?;
        Ok(running)
    }
}

impl Running {
    async fn wait_ready(&self, name: &str, path: &str) -> Result<(), Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Run(e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.task.is_finished() {
                return Err(Error::Run(format!(
                    "the bundled {name} stopped while starting (see its log above)"
                )));
            }
            if let Ok(resp) = client.get(format!("{}{path}", self.url)).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Run(format!(
                    "the bundled {name} was not ready within 120 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asks the service to stop and waits (at most 10 s) for it to drain.
    pub async fn stop(self) {
        self.stop.cancel();
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(Err(e))) => {
                eprintln!("loadgen: the bundled service stopped with an error: {e:#}")
            }
            Err(_) => eprintln!("loadgen: the bundled service did not stop within 10 s"),
            _ => {}
        }
    }
}
