//! The run's one clock: the end of each second since the start, for the local
//! run, the manager and every worker alike.

use crate::metrics::{IntervalSnapshot, Recorder};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Yields second 0, 1, 2... each at its end (`start + n + 1` seconds).
pub struct Ticker {
    start: Instant,
    next: u64,
}

impl Ticker {
    pub fn new(start: Instant) -> Ticker {
        Ticker { start, next: 0 }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Waits for the end of the next second and returns its number. Cancel-safe:
    /// a wait dropped before it ends (as in `select!`) leaves the count as it was.
    pub async fn tick(&mut self) -> u64 {
        let end = self.start + Duration::from_secs(self.next + 1);
        tokio::time::sleep_until(end.into()).await;
        self.next += 1;
        self.next - 1
    }

    /// Seconds since the start.
    pub fn elapsed_secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// At the end of every second from `start`: that second's measurements, drained
/// from the recorder, handed to `sink` with the run's age in seconds. Ends when
/// the returned task is aborted.
pub fn drain_every_second(
    start: Instant,
    recorder: Arc<Recorder>,
    mut sink: impl FnMut(IntervalSnapshot, f64) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = Ticker::new(start);
        loop {
            let second = ticker.tick().await;
            sink(recorder.drain(second), ticker.elapsed_secs());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_at_the_end_of_each_second_and_survives_cancelled_waits() {
        let clock = tokio::time::Instant::now();
        let mut ticker = Ticker::new(clock.into_std());
        assert_eq!(ticker.tick().await, 0);
        assert_eq!(clock.elapsed(), Duration::from_secs(1));
        // A wait cancelled half way does not skip a second.
        let _ = tokio::time::timeout(Duration::from_millis(500), ticker.tick()).await;
        assert_eq!(ticker.tick().await, 1);
        assert_eq!(clock.elapsed(), Duration::from_secs(2));
    }
}
