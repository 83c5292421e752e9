//! Redis cache behind a guard (breaker, bulkhead, timeout); every failure reads as a miss.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use tokio::sync::OnceCell;

use super::Cache;
use crate::resilience::Guard;

pub struct RedisCache {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    guard: Guard,
}

impl RedisCache {
    /// Does not connect: the first call does, so the service starts without Redis.
    pub fn new(url: &str, guard: Guard) -> anyhow::Result<RedisCache> {
        Ok(RedisCache {
            client: redis::Client::open(url)?,
            conn: OnceCell::new(),
            guard,
        })
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let timeout = self.guard.timeout;
        // The guard's deadline ends a call first and judges it (a late answer is
        // excused while Redis answers others); the client's own, longer, only
        // drops replies that never come. Equal, the client's error raced the guard
        // and every late reply counted as a failure.
        let response_timeout = self.guard.late_grace.unwrap_or(timeout).max(timeout);
        self.conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(response_timeout))
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .cloned()
    }

    async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            f(conn).await
        };
        match self.guard.call(|_| true, call).await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(op, error = %e, "redis call failed; bypassing cache");
                None
            }
        }
    }
}

#[async_trait]
impl Cache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Option<String> {
        self.run("get", |mut c| async move {
            c.get::<_, Option<String>>(key).await
        })
        .await
        .flatten()
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) {
        let secs = ttl.as_secs().max(1);
        self.run("set", |mut c| async move {
            c.set_ex::<_, _, ()>(key, value, secs).await
        })
        .await;
    }

    async fn delete(&self, key: &str) {
        self.run("del", |mut c| async move { c.del::<_, ()>(key).await })
            .await;
    }

    async fn incr(&self, key: &str) -> Option<i64> {
        self.run(
            "incr",
            |mut c| async move { c.incr::<_, _, i64>(key, 1).await },
        )
        .await
    }

    async fn healthy(&self) -> bool {
        self.run("ping", |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .is_some()
    }
}
