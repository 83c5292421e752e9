//! The outbox relay's publishing rate against a real RabbitMQ, before and after
//! pipelining, in one run: the same events published one at a time, each
//! awaiting its confirm (the relay before), and in the relay's batches of 100
//! sent before any confirm is awaited (the relay now). Alternates the two three
//! times and prints events/s and the ratio (docs/BENCHMARKS.md).
//!
//! cargo run --release -p target-service --example publish_throughput -- [EVENTS]
//! (RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672/%2f; its own exchange
//! and queue, deleted after.)

use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use target_service::events::{Publisher, RabbitBroker};
use target_service::model::OutboxEvent;
use target_service::resilience::{BreakerConfig, Guard};

const BATCH: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("RABBITMQ_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let n: usize = std::env::args().nth(1).map_or(Ok(5_000), |a| a.parse())?;
    let suffix = format!("{:08x}", rand::random::<u32>());
    let (exchange, queue) = (format!("bench-ex-{suffix}"), format!("bench-q-{suffix}"));
    let guard = Guard::new(
        "rabbitmq",
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(5),
            half_open_max_calls: 1,
        },
        4,
        Duration::from_secs(2),
        Duration::from_secs(30),
    );
    let broker = RabbitBroker::new(&url, &exchange, &queue, guard);
    let payload =
        r#"{"type":"loan.created","loan":{"id":1,"book_id":2,"member_id":3,"status":"active"}}"#;
    let events: Vec<OutboxEvent> = (1..=n as i64)
        .map(|id| OutboxEvent {
            id,
            event_type: "loan.created".into(),
            payload: payload.into(),
        })
        .collect();
    broker.publish(&events[0]).await?; // connect and declare outside the timings
    println!("{n} persistent events with publisher confirms to {url}");
    let (mut one, mut piped) = (Vec::new(), Vec::new());
    for round in 1..=3 {
        let started = Instant::now();
        for event in &events {
            broker.publish(event).await?;
        }
        one.push(n as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        for batch in events.chunks(BATCH) {
            if let (_, Some(e)) = broker.publish_all(batch).await {
                return Err(e);
            }
        }
        piped.push(n as f64 / started.elapsed().as_secs_f64());
        println!(
            "round {round}: one at a time {:.0} events/s, pipelined by {BATCH} {:.0} events/s",
            one[round - 1],
            piped[round - 1]
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut one), median(&mut piped));
    println!(
        "median: one at a time {a:.0} events/s, pipelined {b:.0} events/s: {:.1}x",
        b / a
    );

    let conn = Connection::connect(&url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await?;
    channel
        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await?;
    Ok(())
}
