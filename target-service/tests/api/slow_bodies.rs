//! Request bodies that come slowly, or never, hold no in-flight slot: with a handful
//! of slots, connections that send a head and then nothing (or a byte now and then)
//! leave everyone else served, and get 408 and a closed connection once
//! `BODY_READ_TIMEOUT_MS` is up. Before, they took every slot until they gave up.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::socket::serve_with;

/// A login head announcing a body that is never (or very slowly) sent.
const SLOW_LOGIN: &[u8] = b"POST /auth/login HTTP/1.1\r\nHost: test\r\n\
    Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{";

/// What the server sent before closing, and whether it closed within `limit`.
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin), limit: Duration) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "still open after {limit:?}");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_leave_the_in_flight_slots_to_others() {
    let served = serve_with(&[
        ("MAX_IN_FLIGHT", "4"),
        ("BODY_READ_TIMEOUT_MS", "1500"),
        ("REQUEST_TIMEOUT_MS", "30000"),
    ])
    .await;
    let started = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..12 {
        let mut s = TcpStream::connect(served.addr).await.unwrap();
        s.write_all(SLOW_LOGIN).await.unwrap();
        silent.push(s);
    }
    let mut dribbling = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(served.addr).await.unwrap();
        s.write_all(SLOW_LOGIN).await.unwrap();
        let (read, mut write) = s.into_split();
        tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if write.write_all(b" ").await.is_err() {
                    break;
                }
            }
        });
        dribbling.push(read);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..8 {
        let r = served.get("/books/1", &[]).await;
        assert_eq!(r.status, 200, "probe {n} among 16 slow bodies: {r:?}");
    }
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "the probes ran while the slow bodies were still coming"
    );
    for (n, mut s) in silent.into_iter().enumerate() {
        let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "silent {n}: {answer:?}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "silent {n}: {answer:?}"
        );
        assert!(answer.contains("\"error\""), "a JSON error: {answer:?}");
    }
    for (n, mut s) in dribbling.into_iter().enumerate() {
        // The server closes with the rest of the body unread: the 408 may be lost
        // to the reset that follows, but the connection must end.
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "dribbling {n} still open");
        let answer = String::from_utf8_lossy(&out);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "dribbling {n}: {answer:?}"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "cut off by the deadline, not at once"
    );
    assert_eq!(served.get("/books/1", &[]).await.status, 200);
}

/// `Expect: 100-continue` with a `Content-Length` over the limit used to get
/// `100 Continue` (an invitation to upload the gigabyte) and then a 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_upload_is_refused_before_100_continue() {
    let served = serve_with(&[]).await;
    let mut s = TcpStream::connect(served.addr).await.unwrap();
    s.write_all(
        b"POST /members HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
          Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(!answer.contains("100 Continue"), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer:?}"
    );
    assert!(answer.contains("larger than 65536 bytes"), "{answer:?}");

    // Within the limit, the client is invited and served.
    let body = r#"{"email":"new@example.com","name":"New","password":"longenough"}"#;
    let mut s = TcpStream::connect(served.addr).await.unwrap();
    let head = format!(
        "POST /members HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("an answer to the head")
        .unwrap();
    let first = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(first.starts_with("HTTP/1.1 100 Continue"), "{first:?}");
    s.write_all(body.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let answer = format!("{first}{answer}");
    assert!(answer.contains("HTTP/1.1 201"), "{answer:?}");
}
