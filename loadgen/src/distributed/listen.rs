//! The manager's door: accepts connections for admission, keeps accepting
//! through errors (out of file descriptors), and closes at once what comes
//! while too many connections are still waiting to join.

use super::admission::{admit, Admission};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Connections accepted but not yet admitted or refused, at most. Each may
/// wait `admission::JOIN_WITHIN` for its join; more are closed unread.
pub const MAX_PENDING: usize = 64;
/// After a failed accept, wait this long, doubling up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// Accepts connections until aborted, handing each to admission.
pub(crate) fn accept_loop(listener: TcpListener, admission: Admission) -> JoinHandle<()> {
    tokio::spawn(async move {
        let pending = Arc::new(Semaphore::new(MAX_PENDING));
        let mut backoff = BACKOFF_MIN;
        // Told once per streak, so a flood does not flood the log too.
        let (mut failed, mut turned_away) = (0u64, 0u64);
        loop {
            match listener.accept().await {
                Ok((stream, from)) => {
                    if failed > 0 {
                        eprintln!("manager: accepting again after {failed} failed accept(s)");
                        (failed, backoff) = (0, BACKOFF_MIN);
                    }
                    match pending.clone().try_acquire_owned() {
                        Ok(place) => {
                            if turned_away > 0 {
                                eprintln!("manager: taking connections again; {turned_away} were closed unread");
                                turned_away = 0;
                            }
                            tokio::spawn(admit(stream, place, admission.clone()));
                        }
                        Err(_) => {
                            if turned_away == 0 {
                                eprintln!(
                                    "manager: too many connections waiting to join ({MAX_PENDING}): \
                                     closing new ones (the first from {from}) until some join or time out"
                                );
                            }
                            turned_away += 1;
                            drop(stream);
                        }
                    }
                }
                Err(e) => {
                    if failed == 0 {
                        eprintln!("manager: cannot accept a connection ({e}); retrying every {} ms at most", BACKOFF_MAX.as_millis());
                    }
                    failed += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn past_the_pending_cap_a_connection_is_closed_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
        let admission = Admission {
            events,
            token: Arc::new("t".into()),
            fingerprint: Arc::new("f".into()),
            next_id: Arc::new(AtomicU32::new(1)),
            started: Arc::new(AtomicBool::new(false)),
        };
        let door = accept_loop(listener, admission);
        let mut waiting = Vec::new();
        for _ in 0..MAX_PENDING {
            waiting.push(TcpStream::connect(addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut extra = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(Duration::from_secs(1), extra.read(&mut buf));
        assert!(matches!(read.await, Ok(Ok(0) | Err(_))), "held open");
        // The waiting ones are still waiting: each has its time to join.
        let read = tokio::time::timeout(Duration::from_millis(100), waiting[0].read(&mut buf));
        assert!(read.await.is_err(), "a waiting connection was closed");
        door.abort();
    }
}
