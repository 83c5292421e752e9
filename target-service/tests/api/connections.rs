//! What a client can do with a connection alone: hold sockets open with half-sent heads.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::socket::serve_with;

/// Without a header-read timeout each of these held a socket (and a file descriptor)
/// for as long as the client liked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_heads_are_cut_off() {
    let served = serve_with(&[("HEADER_READ_TIMEOUT_MS", "400")]).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(served.addr).await.unwrap();
        s.write_all(b"GET /books/1 HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    for (n, mut s) in slow.into_iter().enumerate() {
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        let closed = match read {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            // hyper may say 408 before closing; what matters is that it closes.
            Ok(Ok(_)) => {
                let rest = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
                matches!(rest, Ok(Ok(0)) | Ok(Err(_)))
            }
            Err(_) => false,
        };
        assert!(
            closed,
            "connection {n} still open {:?} after a half-sent head",
            started.elapsed()
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "closed by the timeout, not at once"
    );
    assert_eq!(
        served.get("/books/1", &[]).await.status,
        200,
        "whole requests are served"
    );
}
