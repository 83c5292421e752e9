//! The embedded cache: a HashMap with per-entry expiry, swept when it grows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::Cache;

const SWEEP_AT: usize = 50_000;

#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Option<Instant>)>>,
}

impl MemoryCache {
    pub fn new() -> MemoryCache {
        MemoryCache::default()
    }
}

#[async_trait]
impl Cache for MemoryCache {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Option<String> {
        let mut entries = self.entries.lock().expect("cache lock");
        match entries.get(key) {
            Some((_, Some(expires))) if *expires <= Instant::now() => {
                entries.remove(key);
                None
            }
            Some((value, _)) => Some(value.clone()),
            None => None,
        }
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= SWEEP_AT {
            let now = Instant::now();
            entries.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
            if entries.len() >= SWEEP_AT {
                entries.clear();
            }
        }
        entries.insert(
            key.to_string(),
            (value.to_string(), Some(Instant::now() + ttl)),
        );
    }

    async fn delete(&self, key: &str) {
        self.entries.lock().expect("cache lock").remove(key);
    }

    async fn incr(&self, key: &str) -> Option<i64> {
        let mut entries = self.entries.lock().expect("cache lock");
        let entry = entries
            .entry(key.to_string())
            .or_insert_with(|| ("0".into(), None));
        let next = entry.0.parse::<i64>().unwrap_or(0) + 1;
        entry.0 = next.to_string();
        Some(next)
    }

    async fn healthy(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn entries_expire() {
        let c = MemoryCache::new();
        c.set("k", "v", Duration::from_secs(5)).await;
        assert_eq!(c.get("k").await.as_deref(), Some("v"));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(c.get("k").await, None);
        assert_eq!(c.incr("n").await, Some(1));
        assert_eq!(c.incr("n").await, Some(2));
    }
}
