//! Cache-aside for book reads, searches and members' loan lists; a cache failure is
//! a miss, never an error.

mod memory;
mod redis;
mod single_flight;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::redis::RedisCache;
pub use memory::MemoryCache;
pub use single_flight::{SingleFlight, Turn};

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

/// Where one search's page and the query's total are cached.
pub struct SearchKeys {
    pub page: String,
    pub total: String,
}

/// The service's view of the cache: typed values under the configured key prefix.
///
/// Book reads are keyed by id and deleted whenever copies or details change. Searches
/// are keyed by the catalog version (bumped when a book is created or edited) and live
/// for the short search TTL, so a search may show `copies_available` up to that stale;
/// a query's total (a COUNT over the table, the costly part) lives for the longer
/// count TTL, so it may lag new books by up to that.
/// A member's loan list is keyed by member id and deleted when that member borrows or
/// returns (the same TTL as books bounds any race between a read and a write).
#[derive(Clone)]
pub struct BookCache {
    cache: Arc<dyn Cache>,
    prefix: String,
    ttls: Arc<Ttls>,
    fills: Arc<SingleFlight>,
}

/// The TTLs in milliseconds, shared by the clones so a live change reaches them all.
#[derive(Default)]
struct Ttls {
    book: AtomicU64,
    search: AtomicU64,
    count: AtomicU64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn read(ttl: &AtomicU64) -> Duration {
    Duration::from_millis(ttl.load(Ordering::Relaxed))
}

impl BookCache {
    pub fn new(
        cache: Arc<dyn Cache>,
        prefix: &str,
        ttl: Duration,
        search_ttl: Duration,
        count_ttl: Duration,
    ) -> BookCache {
        let cache = BookCache {
            cache,
            prefix: prefix.to_string(),
            ttls: Arc::default(),
            fills: Arc::default(),
        };
        cache.set_ttls(ttl, search_ttl, count_ttl);
        cache
    }

    /// New TTLs (a live configuration change) for what is cached from now on.
    pub fn set_ttls(&self, ttl: Duration, search_ttl: Duration, count_ttl: Duration) {
        self.ttls.book.store(millis(ttl), Ordering::Relaxed);
        self.ttls
            .search
            .store(millis(search_ttl), Ordering::Relaxed);
        self.ttls.count.store(millis(count_ttl), Ordering::Relaxed);
    }

    /// The TTLs now: books and loan lists, search pages, search totals.
    pub fn ttls(&self) -> (Duration, Duration, Duration) {
        let t = &self.ttls;
        (read(&t.book), read(&t.search), read(&t.count))
    }

    /// The turn to fill a missed `key` (one filler per key in this instance); check
    /// the cache again once it is yours, someone may have filled it meanwhile.
    pub async fn fill_turn(&self, key: &str) -> Turn<'_> {
        self.fills.turn(key).await
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
            self.cache
                .set(&self.book_key(id), &raw, read(&self.ttls.book))
                .await;
        }
    }

    pub async fn forget_book(&self, id: i64) {
        self.cache.delete(&self.book_key(id)).await;
    }

    fn loans_key(&self, member_id: i64) -> String {
        format!("{}loans:{member_id}", self.prefix)
    }

    pub async fn loans<T: DeserializeOwned>(&self, member_id: i64) -> Option<T> {
        serde_json::from_str(&self.cache.get(&self.loans_key(member_id)).await?).ok()
    }

    pub async fn put_loans<T: Serialize>(&self, member_id: i64, value: &T) {
        if let Ok(raw) = serde_json::to_string(value) {
            self.cache
                .set(&self.loans_key(member_id), &raw, read(&self.ttls.book))
                .await;
        }
    }

    pub async fn forget_loans(&self, member_id: i64) {
        self.cache.delete(&self.loans_key(member_id)).await;
    }

    /// The keys of this query's page and of its total under the current catalog version.
    pub async fn search_key(&self, q: Option<&str>, page: i64, per_page: i64) -> SearchKeys {
        let version = self
            .cache
            .get(&self.version_key())
            .await
            .unwrap_or_else(|| "0".into());
        // Length-prefixed so no query text can collide with another's key.
        let q = q.unwrap_or("");
        let (prefix, len) = (&self.prefix, q.len());
        SearchKeys {
            page: format!("{prefix}search:v{version}:{page}:{per_page}:{len}:{q}"),
            total: format!("{prefix}count:v{version}:{len}:{q}"),
        }
    }

    /// The cached number of matches of a query (all its pages share it).
    pub async fn search_total(&self, keys: &SearchKeys) -> Option<i64> {
        self.cache.get(&keys.total).await?.parse().ok()
    }

    pub async fn put_search_total(&self, keys: &SearchKeys, total: i64) {
        self.cache
            .set(&keys.total, &total.to_string(), read(&self.ttls.count))
            .await;
    }

    pub async fn search<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(&self.cache.get(key).await?).ok()
    }

    pub async fn put_search<T: Serialize>(&self, key: &str, value: &T) {
        if let Ok(raw) = serde_json::to_string(value) {
            self.cache.set(key, &raw, read(&self.ttls.search)).await;
        }
    }

    pub async fn bump_catalog(&self) {
        self.cache.incr(&self.version_key()).await;
    }
}
