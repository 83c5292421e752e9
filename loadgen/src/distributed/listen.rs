//! The manager's door: accepts connections for admission, keeps accepting
//! through errors (out of file descriptors), and keeps the connections still
//! waiting to join under a cap by closing the oldest of them to make room:
//! peers that connect and send nothing cannot keep a worker out, since a
//! worker sends its join at once and leaves the waiting line in milliseconds.

use super::admission::{admit, Admission};
use super::waiting::{Waiting, MAX_PENDING};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// After a failed accept, wait this long, doubling up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// Accepts connections until aborted, handing each to admission.
pub(crate) fn accept_loop(listener: TcpListener, admission: Admission) -> JoinHandle<()> {
    tokio::spawn(async move {
        let waiting = Waiting::default();
        let mut backoff = BACKOFF_MIN;
        // Told once per streak, so a flood does not flood the log too.
        let (mut failed, mut pushed_out) = (0u64, 0u64);
        loop {
            match listener.accept().await {
                Ok((stream, from)) => {
                    if failed > 0 {
                        eprintln!("manager: accepting again after {failed} failed accept(s)");
                        (failed, backoff) = (0, BACKOFF_MIN);
                    }
                    let (place, crowded) = waiting.enter();
                    if crowded {
                        if pushed_out == 0 {
                            eprintln!(
                                "manager: too many connections waiting to join ({MAX_PENDING}): \
                                 closing the oldest to make room (the newest from {from})"
                            );
                        }
                        pushed_out += 1;
                    } else if pushed_out > 0 {
                        eprintln!("manager: the waiting line has room again; {pushed_out} connection(s) were closed unjoined");
                        pushed_out = 0;
                    }
                    tokio::spawn(admit(stream, place, admission.clone()));
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
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn past_the_pending_cap_the_oldest_waiting_connection_makes_room() {
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
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut newest = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 8];
        // The oldest is closed for it...
        let read = tokio::time::timeout(Duration::from_secs(1), waiting[0].read(&mut buf));
        assert!(
            matches!(read.await, Ok(Ok(0) | Err(_))),
            "the oldest held open"
        );
        // ...and the newest and the rest still have their time to join.
        let read = tokio::time::timeout(Duration::from_millis(100), newest.read(&mut buf));
        assert!(read.await.is_err(), "the newest was closed");
        let read = tokio::time::timeout(Duration::from_millis(100), waiting[1].read(&mut buf));
        assert!(
            read.await.is_err(),
            "a younger waiting connection was closed"
        );
        door.abort();
    }
}
