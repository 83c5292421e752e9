//! The line of connections waiting to join a manager, oldest first, under a
//! cap: past it the oldest is pushed out (closed) to make room, so peers that
//! connect and say nothing cannot keep a worker out, which sends its join at
//! once and leaves the line in milliseconds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Connections accepted but not yet admitted or refused, at most. Each may
/// wait `admission::JOIN_WITHIN` for its join; past this many the oldest
/// waiting one is closed.
pub const MAX_PENDING: usize = 64;

/// The connections waiting to join, oldest first.
#[derive(Clone, Default)]
pub(crate) struct Waiting {
    line: Arc<Mutex<VecDeque<(u64, CancellationToken)>>>,
    next: Arc<AtomicU64>,
}

/// A connection's place in the waiting line: `closed` is cancelled if it is
/// pushed out; dropped (the join decided), it leaves the line.
pub(crate) struct Place {
    id: u64,
    pub closed: CancellationToken,
    waiting: Waiting,
}

impl Waiting {
    /// A place for a new connection, and whether an older one was pushed out for it.
    pub(crate) fn enter(&self) -> (Place, bool) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let closed = CancellationToken::new();
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        let pushed_out = line.len() >= MAX_PENDING;
        if pushed_out {
            if let Some((_, oldest)) = line.pop_front() {
                oldest.cancel();
            }
        }
        line.push_back((id, closed.clone()));
        let place = Place {
            id,
            closed,
            waiting: self.clone(),
        };
        (place, pushed_out)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut line = self.waiting.line.lock().unwrap_or_else(|p| p.into_inner());
        line.retain(|(id, _)| *id != self.id);
    }
}
