//! Cache-aside for book reads and searches; a cache failure is a miss, never an error.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::redis::RedisCache;
pub use memory::MemoryCache;

/// A key/value cache with TTLs. Implementations swallow their own errors.
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    async fn get(&self, key: &str) -> Option<String>;
    async fn set(&self, key: &str, value: &str, ttl: Duration);
    async fn delete(&self, key: &str);
    /// Increments a counter (creating it at 1); `None` if the cache is unreachable.
    async fn incr(&self, key: &str) -> Option<i64>;
    /// Whether the cache answered a ping just now.
    async fn healthy(&self) -> bool;
}

/// The service's view of the cache: typed values under the configured key prefix.
///
/// Book reads are keyed by id and deleted whenever copies or details change. Searches
/// are keyed by the catalog version (bumped when a book is created or edited) and live
/// for the short search TTL, so a search may show `copies_available` up to that stale.
#[derive(Clone)]
pub struct BookCache {
    cache: Arc<dyn Cache>,
    prefix: String,
    ttl: Duration,
    search_ttl: Duration,
}

impl BookCache {
    pub fn new(
        cache: Arc<dyn Cache>,
        prefix: &str,
        ttl: Duration,
        search_ttl: Duration,
    ) -> BookCache {
        BookCache {
            cache,
            prefix: prefix.to_string(),
            ttl,
            search_ttl,
        }
    }

    pub fn backend(&self) -> &'static str {
        self.cache.backend()
    }

    pub async fn healthy(&self) -> bool {
        self.cache.healthy().await
    }

    fn book_key(&self, id: i64) -> String {
        format!("{}book:{id}", self.prefix)
    }

    fn version_key(&self) -> String {
        format!("{}catalog:version", self.prefix)
    }

    pub async fn book<T: DeserializeOwned>(&self, id: i64) -> Option<T> {
        let raw = self.cache.get(&self.book_key(id)).await?;
        serde_json::from_str(&raw).ok()
    }

    pub async fn put_book<T: Serialize>(&self, id: i64, value: &T) {
        if let Ok(raw) = serde_json::to_string(value) {
            self.cache.set(&self.book_key(id), &raw, self.ttl).await;
        }
    }

    pub async fn forget_book(&self, id: i64) {
        self.cache.delete(&self.book_key(id)).await;
    }

    /// The search key for this query under the current catalog version.
    pub async fn search_key(&self, q: Option<&str>, page: i64, per_page: i64) -> Option<String> {
        let version = self
            .cache
            .get(&self.version_key())
            .await
            .unwrap_or_else(|| "0".into());
        // Length-prefixed so no query text can collide with another's key.
        let q = q.unwrap_or("");
        Some(format!(
            "{}search:v{version}:{page}:{per_page}:{}:{q}",
            self.prefix,
            q.len()
        ))
    }

    pub async fn search<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(&self.cache.get(key).await?).ok()
    }

    pub async fn put_search<T: Serialize>(&self, key: &str, value: &T) {
        if let Ok(raw) = serde_json::to_string(value) {
            self.cache.set(key, &raw, self.search_ttl).await;
        }
    }

    pub async fn bump_catalog(&self) {
        self.cache.incr(&self.version_key()).await;
    }
}
