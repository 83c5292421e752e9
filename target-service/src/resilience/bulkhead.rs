//! Bulkhead: caps concurrent calls into one dependency, with a bounded wait for a slot.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Debug)]
pub struct Bulkhead {
    name: &'static str,
    slots: Arc<Semaphore>,
    capacity: usize,
    max_wait: Duration,
}

impl Bulkhead {
    pub fn new(name: &'static str, capacity: usize, max_wait: Duration) -> Bulkhead {
        let capacity = capacity.max(1);
        Bulkhead {
            name,
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            max_wait,
        }
    }

    /// A slot, or `None` when none freed up within the wait budget.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                tracing::debug!(bulkhead = self.name, "bulkhead full");
                None
            }
        }
    }

    pub fn in_use(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn full_bulkhead_rejects_after_wait() {
        let b = Bulkhead::new("db", 2, Duration::from_millis(50));
        let p1 = b.acquire().await.unwrap();
        let _p2 = b.acquire().await.unwrap();
        assert_eq!(b.in_use(), 2);
        assert!(b.acquire().await.is_none());
        drop(p1);
        assert!(b.acquire().await.is_some());
    }
}
