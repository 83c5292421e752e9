//! Circuit breaker: closed -> open after N consecutive failures -> half-open probe.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// When a breaker opens and how it recovers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before letting probes through.
    pub open_for: Duration,
    /// Probes allowed at once while half-open.
    pub half_open_max_calls: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(5),
            half_open_max_calls: 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    /// Under the same lock as the state, so a live change is seen by the next call.
    config: BreakerConfig,
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probes_in_flight: u32,
    times_opened: u64,
    /// When a call last succeeded: a late call is excused while this is recent.
    last_success: Option<Instant>,
    late_excused: u64,
}

/// One dependency's breaker. The lock is never held across an await.
#[derive(Debug)]
pub struct Breaker {
    name: &'static str,
    inner: Mutex<Inner>,
}

/// A snapshot for `/health/circuit-breakers` and `/metrics`.
#[derive(Clone, Debug, Serialize)]
pub struct BreakerStatus {
    pub name: &'static str,
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub times_opened: u64,
    /// Calls past their deadline not counted as failures (see [`Breaker::on_late`]).
    pub late_excused: u64,
}

impl Breaker {
    pub fn new(name: &'static str, config: BreakerConfig) -> Breaker {
        Breaker {
            name,
            inner: Mutex::new(Inner {
                config,
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: None,
                probes_in_flight: 0,
                times_opened: 0,
                last_success: None,
                late_excused: 0,
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Takes new settings (a live configuration change); the state is kept, so an
    /// open breaker stays open, now for the new window from when it opened.
    pub fn set_config(&self, config: BreakerConfig) {
        self.inner.lock().expect("breaker lock").config = config;
    }

    /// Asks to make a call; `false` means fail fast without calling.
    pub fn try_acquire(&self) -> bool {
        let mut inner = self.inner.lock().expect("breaker lock");
        if inner.state == BreakerState::Open {
            let opened = inner.opened_at.unwrap_or_else(Instant::now);
            if opened.elapsed() < inner.config.open_for {
                return false;
            }
            inner.state = BreakerState::HalfOpen;
            inner.probes_in_flight = 0;
        }
        if inner.state == BreakerState::HalfOpen {
            if inner.probes_in_flight >= inner.config.half_open_max_calls.max(1) {
                return false;
            }
            inner.probes_in_flight += 1;
        }
        true
    }

    pub fn on_success(&self) {
        let mut inner = self.inner.lock().expect("breaker lock");
        inner.consecutive_failures = 0;
        inner.probes_in_flight = 0;
        inner.state = BreakerState::Closed;
        inner.opened_at = None;
        inner.last_success = Some(Instant::now());
    }

    /// A call that missed its deadline. If some call succeeded within `quiet`, the
    /// dependency is answering and this one was late in a queue, most likely for a
    /// CPU (ours or the dependency's, on a saturated machine), so it is not counted:
    /// counting it opened the Redis breaker exactly when the machine was busiest and
    /// sent every cached read to the database. Silent for `quiet`, it is a failure.
    pub fn on_late(&self, quiet: Duration) {
        let mut inner = self.inner.lock().expect("breaker lock");
        if inner.last_success.is_some_and(|t| t.elapsed() < quiet) {
            inner.late_excused += 1;
            if inner.state == BreakerState::HalfOpen {
                inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
            }
            return;
        }
        self.fail(&mut inner);
    }

    pub fn on_failure(&self) {
        let mut inner = self.inner.lock().expect("breaker lock");
        self.fail(&mut inner);
    }

    fn fail(&self, inner: &mut Inner) {
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trip = match inner.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => {
                inner.consecutive_failures >= inner.config.failure_threshold.max(1)
            }
            BreakerState::Open => false,
        };
        if trip {
            inner.state = BreakerState::Open;
            inner.opened_at = Some(Instant::now());
            inner.probes_in_flight = 0;
            inner.times_opened += 1;
            tracing::warn!(breaker = self.name, "circuit breaker opened");
        }
    }

    /// Releases a half-open probe slot for a call that ended neutrally (e.g. not found).
    pub fn on_neutral(&self) {
        let mut inner = self.inner.lock().expect("breaker lock");
        if inner.state == BreakerState::HalfOpen {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
    }

    pub fn status(&self) -> BreakerStatus {
        let inner = self.inner.lock().expect("breaker lock");
        let mut state = inner.state;
        if state == BreakerState::Open
            && inner
                .opened_at
                .is_some_and(|t| t.elapsed() >= inner.config.open_for)
        {
            state = BreakerState::HalfOpen;
        }
        BreakerStatus {
            name: self.name,
            state,
            consecutive_failures: inner.consecutive_failures,
            times_opened: inner.times_opened,
            late_excused: inner.late_excused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(
            "db",
            BreakerConfig {
                failure_threshold: 3,
                open_for: Duration::from_secs(10),
                half_open_max_calls: 1,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_recovers_through_half_open() {
        let b = breaker();
        for _ in 0..2 {
            assert!(b.try_acquire());
            b.on_failure();
        }
        assert_eq!(b.status().state, BreakerState::Closed);
        assert!(b.try_acquire());
        b.on_failure();
        assert_eq!(b.status().state, BreakerState::Open);
        assert!(!b.try_acquire(), "open breaker fails fast");

        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(b.status().state, BreakerState::HalfOpen);
        assert!(b.try_acquire(), "one probe allowed");
        assert!(!b.try_acquire(), "second probe refused");
        b.on_success();
        assert_eq!(b.status().state, BreakerState::Closed);
        assert!(b.try_acquire());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens() {
        let b = breaker();
        for _ in 0..3 {
            b.try_acquire();
            b.on_failure();
        }
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(b.try_acquire());
        b.on_failure();
        assert_eq!(b.status().state, BreakerState::Open);
        assert_eq!(b.status().times_opened, 2);
        assert!(!b.try_acquire());
    }

    #[tokio::test(start_paused = true)]
    async fn new_settings_apply_to_the_next_call() {
        let b = breaker();
        b.set_config(BreakerConfig {
            failure_threshold: 1,
            open_for: Duration::from_secs(1),
            half_open_max_calls: 1,
        });
        b.on_failure();
        assert_eq!(
            b.status().state,
            BreakerState::Open,
            "one failure now opens it"
        );
        tokio::time::advance(Duration::from_millis(1_100)).await;
        assert!(b.try_acquire(), "the new, shorter window has passed");
    }

    #[tokio::test(start_paused = true)]
    async fn late_calls_count_only_once_the_dependency_is_silent() {
        let b = breaker();
        let quiet = Duration::from_secs(1);
        // Never answered: late calls are failures (a dependency hung from the start).
        for _ in 0..3 {
            b.on_late(quiet);
        }
        assert_eq!(b.status().state, BreakerState::Open);

        let b = breaker();
        b.on_success();
        tokio::time::advance(Duration::from_millis(300)).await;
        // Answering others a moment ago: late behind a busy CPU, not down.
        for _ in 0..10 {
            b.on_late(quiet);
        }
        let status = b.status();
        assert_eq!(status.state, BreakerState::Closed);
        assert_eq!((status.consecutive_failures, status.late_excused), (0, 10));
        // Silent for longer than `quiet`: hung, so late calls open it.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..3 {
            b.on_late(quiet);
        }
        assert_eq!(b.status().state, BreakerState::Open);
    }

    #[test]
    fn success_resets_failure_count() {
        let b = breaker();
        b.on_failure();
        b.on_failure();
        b.on_success();
        b.on_failure();
        b.on_failure();
        assert_eq!(b.status().state, BreakerState::Closed);
    }
}
