//! One dependency's protection in a single call: bulkhead slot, breaker check, timeout.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use super::{Breaker, BreakerConfig, Bulkhead};

/// Why a guarded call did not produce the dependency's own answer.
#[derive(Debug, thiserror::Error)]
pub enum GuardError<E> {
    #[error("{0} circuit breaker is open")]
    Open(&'static str),
    #[error("{0} bulkhead is full")]
    Full(&'static str),
    #[error("{0} call timed out")]
    Timeout(&'static str),
    #[error(transparent)]
    Inner(E),
}

/// Bulkhead + breaker + timeout for one dependency. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Guard {
    pub breaker: Arc<Breaker>,
    pub bulkhead: Bulkhead,
    pub timeout: Duration,
    /// `Some(quiet)`: a call past `timeout` counts against the breaker only when
    /// no call has succeeded for `quiet` ([`Breaker::on_late`]); `None`: always.
    pub late_grace: Option<Duration>,
}

impl Guard {
    pub fn new(
        name: &'static str,
        breaker: BreakerConfig,
        slots: usize,
        max_wait: Duration,
        timeout: Duration,
    ) -> Guard {
        Guard {
            breaker: Arc::new(Breaker::new(name, breaker)),
            bulkhead: Bulkhead::new(name, slots, max_wait),
            timeout,
            late_grace: None,
        }
    }

    /// Counts a late call as a failure only after the dependency has answered
    /// nothing for `quiet`: for a fast dependency with a deadline short enough that
    /// a busy machine's run queue alone can miss it (Redis's 100 ms).
    pub fn excusing_late_calls(mut self, quiet: Duration) -> Guard {
        self.late_grace = Some(quiet);
        self
    }

    /// Runs `fut` under the guard. `is_failure` decides which errors count against the
    /// breaker: a "not found" is the dependency working, a lost connection is not.
    pub async fn call<T, E>(
        &self,
        is_failure: impl Fn(&E) -> bool,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, GuardError<E>> {
        let _permit = self.admit().await?;
        // A call dropped before it ends (its request cancelled or past its
        // deadline) must still give back a half-open probe slot: else the
        // breaker waits for that probe forever and refuses every call.
        let mut unsettled = Unsettled(Some(&self.breaker));
        let outcome = tokio::time::timeout(self.timeout, fut).await;
        unsettled.0 = None;
        self.settle(outcome.ok(), is_failure)
    }

    /// As [`Guard::call`], but `fut` runs in a task of its own to its end,
    /// whether or not its caller waits that long: past the deadline the caller
    /// gets `Timeout` (and the breaker a failure) at once, while the work goes
    /// on holding its bulkhead slot until it is done. For database calls: a
    /// transaction cut off mid-way (a future dropped between its statements)
    /// leaves its connection inside the transaction, and the next borrower of
    /// that server connection behind a transaction pooler finds "a transaction
    /// already in progress". A request dropped while waiting (the client gone,
    /// the load-shedding deadline) does not stop the work either.
    pub async fn call_to_completion<T, E>(
        &self,
        is_failure: impl Fn(&E) -> bool,
        fut: impl Future<Output = Result<T, E>> + Send + 'static,
    ) -> Result<T, GuardError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let permit = self.admit().await?;
        let mut unsettled = Unsettled(Some(&self.breaker));
        let mut work = tokio::spawn(async move {
            let result = fut.await;
            drop(permit);
            result
        });
        let outcome = match tokio::time::timeout(self.timeout, &mut work).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(joined)) if joined.is_panic() => std::panic::resume_unwind(joined.into_panic()),
            // Cancelled (the runtime is shutting down), or past the deadline.
            Ok(Err(_)) | Err(_) => None,
        };
        unsettled.0 = None;
        self.settle(outcome, is_failure)
    }

    /// A bulkhead slot, if one frees in time, and the breaker's leave to call.
    async fn admit<E>(&self) -> Result<OwnedSemaphorePermit, GuardError<E>> {
        let name = self.breaker.name();
        let permit = self
            .bulkhead
            .acquire()
            .await
            .ok_or(GuardError::Full(name))?;
        if !self.breaker.try_acquire() {
            return Err(GuardError::Open(name));
        }
        Ok(permit)
    }

    /// Tells the breaker how the call went (`None`: no answer in time) and
    /// hands its caller the answer.
    fn settle<T, E>(
        &self,
        outcome: Option<Result<T, E>>,
        is_failure: impl Fn(&E) -> bool,
    ) -> Result<T, GuardError<E>> {
        match outcome {
            Some(Ok(v)) => {
                self.breaker.on_success();
                Ok(v)
            }
            Some(Err(e)) => {
                if is_failure(&e) {
                    self.breaker.on_failure();
                } else {
                    self.breaker.on_success();
                }
                Err(GuardError::Inner(e))
            }
            None => {
                match self.late_grace {
                    Some(quiet) => self.breaker.on_late(quiet),
                    None => self.breaker.on_failure(),
                }
                Err(GuardError::Timeout(self.breaker.name()))
            }
        }
    }
}

/// Until settled, a guarded call in flight; dropped unsettled, it releases its probe slot.
struct Unsettled<'a>(Option<&'a Breaker>);

impl Drop for Unsettled<'_> {
    fn drop(&mut self) {
        if let Some(breaker) = self.0 {
            breaker.on_neutral();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        let config = BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(5),
            half_open_max_calls: 1,
        };
        Guard::new(
            "db",
            config,
            1,
            Duration::from_millis(10),
            Duration::from_millis(100),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn failures_open_the_breaker_and_a_probe_closes_it() {
        let g = guard();
        let fail = || async { Err::<(), &str>("connection refused") };
        assert!(matches!(
            g.call(|_| true, fail()).await,
            Err(GuardError::Inner(_))
        ));
        assert!(matches!(
            g.call(|_| true, fail()).await,
            Err(GuardError::Inner(_))
        ));
        assert!(matches!(
            g.call(|_| true, async { Ok::<_, &str>(()) }).await,
            Err(GuardError::Open("db"))
        ));

        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(g.call(|_| true, async { Ok::<_, &str>(1) }).await.is_ok());
        assert_eq!(
            g.breaker.status().state,
            crate::resilience::BreakerState::Closed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_its_deadline_runs_to_its_end_holding_its_slot() {
        let g = guard();
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = finished.clone();
        let slow = async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, &str>(())
        };
        let r = g.call_to_completion(|_| true, slow).await;
        assert!(
            matches!(r, Err(GuardError::Timeout("db"))),
            "the caller stops waiting at 100 ms"
        );
        assert!(!finished.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(g.bulkhead.in_use(), 1, "the work still holds its slot");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            finished.load(std::sync::atomic::Ordering::SeqCst),
            "and runs to its end"
        );
        assert_eq!(g.bulkhead.in_use(), 0);
        // A caller dropped while waiting does not cut the work off either.
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = finished.clone();
        let work = async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, &str>(2)
        };
        let waited = tokio::time::timeout(
            Duration::from_millis(10),
            g.call_to_completion(|_| true, work),
        )
        .await;
        assert!(waited.is_err());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(finished.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(g.bulkhead.in_use(), 0);
        assert!(g
            .call_to_completion(|_| true, async { Ok::<_, &str>(3) })
            .await
            .is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn business_errors_do_not_trip_and_slow_calls_time_out() {
        let g = guard();
        for _ in 0..5 {
            let r = g
                .call(|_: &&str| false, async { Err::<(), _>("not found") })
                .await;
            assert!(matches!(r, Err(GuardError::Inner("not found"))));
        }
        assert_eq!(
            g.breaker.status().state,
            crate::resilience::BreakerState::Closed
        );
        let slow = g.call(|_: &&str| true, async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        });
        assert!(matches!(slow.await, Err(GuardError::Timeout("db"))));
    }

    /// The chaos experiment's stuck breaker (docs/RELIABILITY.md): a half-open
    /// probe whose request was dropped mid-call kept the only probe slot, and
    /// the breaker refused every call for the rest of the run.
    #[tokio::test(start_paused = true)]
    async fn a_probe_dropped_mid_call_does_not_keep_the_breaker_shut() {
        let g = guard();
        for _ in 0..2 {
            let _ = g.call(|_| true, async { Err::<(), _>("refused") }).await;
        }
        tokio::time::advance(Duration::from_secs(6)).await;
        // The probe's request goes away (client gone, deadline) while the call waits.
        let probe = g.call(|_: &&str| true, async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        assert!(tokio::time::timeout(Duration::from_millis(10), probe)
            .await
            .is_err());
        // The next call is the new probe; it succeeds and closes the breaker.
        assert!(g.call(|_| true, async { Ok::<_, &str>(()) }).await.is_ok());
        assert_eq!(
            g.breaker.status().state,
            crate::resilience::BreakerState::Closed
        );
    }

    /// A busy machine's run queue makes a few calls miss Redis's deadline while
    /// Redis answers the others: that must not open its breaker. A hung one must.
    #[tokio::test(start_paused = true)]
    async fn late_calls_while_answering_do_not_open_an_excusing_guard() {
        let g = guard().excusing_late_calls(Duration::from_secs(1));
        let late = || async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, &str>(())
        };
        assert!(g.call(|_| true, async { Ok::<_, &str>(()) }).await.is_ok());
        for _ in 0..5 {
            assert!(matches!(
                g.call(|_| true, late()).await,
                Err(GuardError::Timeout("db"))
            ));
        }
        assert_eq!(
            g.breaker.status().state,
            crate::resilience::BreakerState::Closed
        );
        assert_eq!(g.breaker.status().late_excused, 5);
        // Nothing answered for a second (the five waits above took 0.5 s): hung.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..2 {
            let _ = g.call(|_| true, late()).await;
        }
        assert!(matches!(
            g.call(|_| true, async { Ok::<_, &str>(()) }).await,
            Err(GuardError::Open("db"))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_bulkhead_rejects() {
        let g = guard();
        let _held = g.bulkhead.acquire().await.unwrap();
        let r = g.call(|_: &&str| true, async { Ok(()) }).await;
        assert!(matches!(r, Err(GuardError::Full("db"))));
    }
}
