//! Retries with exponential backoff and full jitter, for idempotent reads only.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

/// Backoff before attempt `attempt` (1-based retry count): uniform in [0, base * 2^attempt].
pub fn full_jitter(base: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1u32 << attempt.min(16));
    let millis = cap.as_millis().min(u128::from(u64::MAX)) as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// Runs `op` up to `attempts` times while `retryable(&err)` says so.
pub async fn retry<T, E, F, Fut>(
    attempts: u32,
    base: Duration,
    retryable: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt + 1 < attempts && retryable(&e) => {
                attempt += 1;
                tokio::time::sleep(full_jitter(base, attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_or_budget() {
        let calls = AtomicU32::new(0);
        let out: Result<u32, &str> = retry(
            3,
            Duration::from_millis(10),
            |_| true,
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    Err("flaky")
                } else {
                    Ok(n)
                }
            },
        )
        .await;
        assert_eq!(out, Ok(2));

        calls.store(0, Ordering::SeqCst);
        let out: Result<u32, &str> = retry(
            3,
            Duration::from_millis(10),
            |_| true,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("down")
            },
        )
        .await;
        assert_eq!(out, Err("down"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn non_retryable_errors_fail_at_once() {
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = retry(
            5,
            Duration::from_millis(1),
            |_| false,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("not found")
            },
        )
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn jitter_is_bounded() {
        for attempt in 0..10 {
            assert!(
                full_jitter(Duration::from_millis(10), attempt)
                    <= Duration::from_millis(10 << attempt)
            );
        }
    }
}
