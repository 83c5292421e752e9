//! The embedded event queue: a bounded tokio channel inside the process.

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;

use super::{Notifier, Publisher};
use crate::model::OutboxEvent;

pub struct InProcessQueue {
    tx: mpsc::Sender<String>,
    rx: Mutex<mpsc::Receiver<String>>,
}

impl InProcessQueue {
    pub fn new(capacity: usize) -> InProcessQueue {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        InProcessQueue {
            tx,
            rx: Mutex::new(rx),
        }
    }

    /// Takes one published payload, if any (tests use this).
    pub async fn try_recv(&self) -> Option<String> {
        self.rx.lock().await.try_recv().ok()
    }
}

#[async_trait]
impl Publisher for InProcessQueue {
    fn backend(&self) -> &'static str {
        "in-process"
    }

    async fn publish(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        // A full queue is back-pressure: the row stays unsent and the relay retries.
        self.tx
            .try_send(event.payload.clone())
            .map_err(|e| anyhow::anyhow!("event queue: {e}"))
    }

    async fn consume(&self, notifier: Notifier, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut rx = self.rx.lock().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                msg = rx.recv() => match msg {
                    Some(payload) => notifier.notify(&payload).await,
                    None => return Ok(()),
                },
            }
        }
    }
}
