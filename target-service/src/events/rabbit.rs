//! RabbitMQ via lapin: durable topic exchange, publisher confirms, a notifications queue.

use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::{Notifier, Publisher};
use crate::model::OutboxEvent;
use crate::resilience::Guard;

pub struct RabbitBroker {
    url: String,
    exchange: String,
    queue: String,
    guard: Guard,
    /// The publishing channel (confirm mode), re-created after any failure.
    channel: Mutex<Option<(Connection, Channel)>>,
}

impl RabbitBroker {
    /// Does not connect: the relay connects on first publish, so startup never waits on it.
    pub fn new(url: &str, exchange: &str, queue: &str, guard: Guard) -> RabbitBroker {
        RabbitBroker {
            url: url.to_string(),
            exchange: exchange.to_string(),
            queue: queue.to_string(),
            guard,
            channel: Mutex::new(None),
        }
    }

    /// Opens a connection and channel and declares the topology (idempotent).
    async fn open(&self) -> anyhow::Result<(Connection, Channel)> {
        let conn = Connection::connect(&self.url, ConnectionProperties::default()).await?;
        let channel = conn.create_channel().await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        let queue = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(self.queue.as_str().into(), queue, FieldTable::default())
            .await?;
        channel
            .queue_bind(
                self.queue.as_str().into(),
                self.exchange.as_str().into(),
                "loan.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((conn, channel))
    }

    /// Sends every event on the confirm channel without waiting in between,
    /// then takes the confirms in order, counting in `confirmed` the events
    /// acked from the first on (what counts survives a timeout of the whole call).
    async fn publish_pipelined(
        &self,
        events: &[OutboxEvent],
        confirmed: &AtomicUsize,
    ) -> anyhow::Result<()> {
        let mut slot = self.channel.lock().await;
        if slot
            .as_ref()
            .is_none_or(|(c, ch)| !c.status().connected() || !ch.status().connected())
        {
            let (conn, channel) = self.open().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            *slot = Some((conn, channel));
        }
        let (_, channel) = slot.as_ref().expect("channel just opened");
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type(ShortString::from("application/json"))
                .with_message_id(ShortString::from(event.id.to_string()));
            let confirm = channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    event.event_type.as_str().into(),
                    BasicPublishOptions::default(),
                    event.payload.as_bytes(),
                    props,
                )
                .await?;
            pending.push(confirm);
        }
        for (confirm, event) in pending.into_iter().zip(events) {
            match confirm.await? {
                Confirmation::Ack(_) => confirmed.fetch_add(1, Ordering::Relaxed),
                other => anyhow::bail!("broker did not confirm event {}: {other:?}", event.id),
            };
        }
        Ok(())
    }

    /// Drops a possibly broken channel; the next publish reconnects.
    fn forget_channel(&self) {
        if let Ok(mut slot) = self.channel.try_lock() {
            *slot = None;
        }
    }
}

#[async_trait]
impl Publisher for RabbitBroker {
    fn backend(&self) -> &'static str {
        "rabbitmq"
    }

    async fn publish(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        match self.publish_all(std::slice::from_ref(event)).await {
            (_, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    async fn publish_all(&self, events: &[OutboxEvent]) -> (usize, Option<anyhow::Error>) {
        if events.is_empty() {
            return (0, None);
        }
        let confirmed = AtomicUsize::new(0);
        let result = self
            .guard
            .call(
                |_: &anyhow::Error| true,
                self.publish_pipelined(events, &confirmed),
            )
            .await;
        let confirmed = confirmed.load(Ordering::Relaxed);
        match result {
            Ok(()) => (confirmed, None),
            Err(e) => {
                self.forget_channel();
                let id = events.get(confirmed).map_or(0, |e| e.id);
                (confirmed, Some(anyhow::anyhow!("publish event {id}: {e}")))
            }
        }
    }

    async fn consume(&self, notifier: Notifier, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (conn, channel) = self.open().await?;
        let mut consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "target-service".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        notifier.notify(&String::from_utf8_lossy(&delivery.data)).await;
                        delivery.ack(BasicAckOptions::default()).await?;
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                },
            }
        }
        let _ = conn.close(200, "shutdown".into()).await;
        Ok(())
    }
}
