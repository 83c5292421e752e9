//! Overload protection: in-flight load shedding, the request deadline, the URI length limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts requests being served; refuses new ones beyond the limit.
#[derive(Clone, Debug)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    /// Shared by the clones, so a live change reaches every one.
    max: Arc<AtomicUsize>,
}

/// Decrements the in-flight count when the request finishes (or is dropped).
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight {
            count: Arc::new(AtomicUsize::new(0)),
            max: Arc::new(AtomicUsize::new(max.max(1))),
        }
    }

    /// A new limit (`MAX_IN_FLIGHT` changed live); requests already in keep running.
    pub fn set_max(&self, max: usize) {
        self.max.store(max.max(1), Ordering::Release);
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::Acquire)
    }

    pub fn try_enter(&self) -> Option<InFlightGuard> {
        let now = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = InFlightGuard(self.count.clone());
        (now <= self.max()).then_some(guard)
    }

    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_sheds_beyond_max() {
        let f = InFlight::new(1);
        let g = f.try_enter();
        assert!(g.is_some());
        assert!(f.try_enter().is_none());
        drop(g);
        assert_eq!(f.current(), 0);
        assert!(f.try_enter().is_some());
        let clone = f.clone();
        clone.set_max(2);
        let (a, b) = (f.try_enter(), f.try_enter());
        assert!(
            a.is_some() && b.is_some(),
            "the clone's new limit is everyone's"
        );
        assert!(f.try_enter().is_none());
    }
}
