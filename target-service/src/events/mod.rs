//! Loan events: the outbox relay publishes them, a consumer turns them into notifications.

mod memory;
mod notify;
mod rabbit;
mod relay;

use async_trait::async_trait;

use crate::model::OutboxEvent;
pub use memory::InProcessQueue;
pub use notify::Notifier;
pub use rabbit::RabbitBroker;
pub use relay::{relay_once, run_relay, RelayOutcome};

/// Where outbox events go. `publish` returns only once the broker has accepted the event.
#[async_trait]
pub trait Publisher: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    async fn publish(&self, event: &OutboxEvent) -> anyhow::Result<()>;
    /// Publishes `events` in order and returns how many of the first ones the
    /// broker accepted, with why it stopped there if it did. By default one at
    /// a time; a broker with confirms sends them all before awaiting any.
    async fn publish_all(&self, events: &[OutboxEvent]) -> (usize, Option<anyhow::Error>) {
        for (i, event) in events.iter().enumerate() {
            if let Err(e) = self.publish(event).await {
                return (i, Some(e));
            }
        }
        (events.len(), None)
    }
    /// Consumes events until `shutdown`, handing each payload to `notifier`.
    async fn consume(
        &self,
        notifier: Notifier,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()>;
}
