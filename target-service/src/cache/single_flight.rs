//! One filler per key: when a hot cached entry expires, the first request to miss
//! queries the database while concurrent requests for the same key wait for it and
//! then read the cache, so an expiry costs one query per instance, not a stampede.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct SingleFlight {
    keys: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// The right to fill one key; the next waiter gets it when this is dropped.
pub struct Turn<'a> {
    flights: &'a SingleFlight,
    key: String,
    /// Someone else held the turn first: they have filled the key (or failed to),
    /// so read the cache again before querying.
    pub waited: bool,
    _held: OwnedMutexGuard<()>,
}

impl SingleFlight {
    /// Waits until no one else is filling `key`, then holds the turn.
    pub async fn turn(&self, key: &str) -> Turn<'_> {
        let lock = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.entry(key.to_string()).or_default().clone()
        };
        let (held, waited) = match lock.clone().try_lock_owned() {
            Ok(held) => (held, false),
            Err(_) => (lock.lock_owned().await, true),
        };
        Turn {
            flights: self,
            key: key.to_string(),
            waited,
            _held: held,
        }
    }

    /// Keys with a filler or waiters now (for tests).
    pub fn busy_keys(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut keys = self.flights.keys.lock().unwrap_or_else(|e| e.into_inner());
        // The map's Arc and the one inside our guard: nobody else is waiting (a
        // waiter that gave up dropped its Arc, so a stale entry goes here too).
        if keys
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) <= 2)
        {
            keys.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_turns_on_one_key_run_one_at_a_time() {
        let flights = Arc::new(SingleFlight::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = vec![];
        for _ in 0..8 {
            let (flights, inside, most) = (flights.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = flights.turn("k").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(flights.busy_keys(), 0, "finished keys are forgotten");
        let first = flights.turn("k").await;
        assert!(!first.waited, "an idle key's turn is had at once");
    }

    #[tokio::test]
    async fn different_keys_do_not_wait_for_each_other() {
        let flights = SingleFlight::default();
        let _a = flights.turn("a").await;
        let b = tokio::time::timeout(Duration::from_secs(1), flights.turn("b")).await;
        assert!(b.is_ok());
        assert_eq!(flights.busy_keys(), 2);
    }
}
