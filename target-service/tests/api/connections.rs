//! What a client can do with a connection alone: rotate fake bearer tokens past the
//! rate limit, hold sockets open with half-sent heads, send a huge request line.

use std::time::{Duration, Instant};

use target_service::auth::token::TokenSigner;
use target_service::model::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::socket::serve_with;

/// `RATE_LIMIT_PER_SEC=1`: a bucket of 5 refills one token a second, far slower than
/// these requests, so every count below is exact give or take one refill.
const LIMITED: [(&str, &str); 2] = [("RATE_LIMIT_PER_SEC", "1"), ("RATE_LIMIT_BURST", "5")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_bearer_tokens_share_the_peer_bucket() {
    let served = serve_with(&LIMITED).await;
    let mut ok = 0;
    for _ in 0..8 {
        let fake = format!("Bearer {:032x}", rand::random::<u128>());
        let r = served.get("/books/1", &[("Authorization", &fake)]).await;
        match r.status {
            200 => ok += 1,
            429 => assert!(r.body["error"].is_string() && r.headers.contains_key("retry-after")),
            other => panic!("unexpected {other}: {r:?}"),
        }
    }
    assert!(
        (5..=6).contains(&ok),
        "{ok} of 8 fake-token requests passed a bucket of 5"
    );
    let r = served.get("/books/1", &[]).await;
    assert_eq!(r.status, 429, "the peer's own bucket is the one drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_member_has_one_bucket_whatever_the_token() {
    let served = serve_with(&LIMITED).await;
    // Drain the peer's anonymous bucket first: members do not share it.
    for _ in 0..6 {
        served.get("/books/1", &[]).await;
    }
    let signer = TokenSigner::new("test-secret", Duration::from_secs(600));
    let (first, second) = (signer.issue(4, Role::Member), signer.issue(4, Role::Member));
    assert_ne!(first, second);
    let first = format!("Bearer {first}");
    for n in 0..5 {
        let r = served.get("/books/1", &[("Authorization", &first)]).await;
        assert_eq!(r.status, 200, "member request {n}: {r:?}");
    }
    let second = format!("Bearer {second}");
    let r = served.get("/books/1", &[("Authorization", &second)]).await;
    assert_eq!(r.status, 429, "a second login is the same member: {r:?}");
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_uri_is_a_json_414() {
    let served = serve_with(&[]).await;
    let path = format!("/books?q={}", "a".repeat(20_000));
    let r = served.get(&path, &[]).await;
    assert_eq!(r.status, 414, "{}", r.raw_body);
    assert!(
        r.body["error"].is_string(),
        "JSON error, got {:?}",
        r.raw_body
    );
    let r = served.send("DELETE", "/books/1", &[], None).await;
    assert_eq!(r.status, 405);
    assert!(
        r.body["error"].is_string(),
        "JSON error, got {:?}",
        r.raw_body
    );
}
