//! What a JSON endpoint takes, over a real socket: an object (an array that serde
//! read as a struct, field by field, logged in) sent as `application/json`, its
//! parameters allowed (`+json` types and the like used to pass).

use std::net::SocketAddr;

use crate::socket::{exchange, serve_with, Reply};

const LOGIN: &str = r#"{"email":"member1@library.test","password":"loadgen-password"}"#;

/// `POST path` with this content type and body, on its own connection.
async fn post(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> Reply {
    post_as(addr, path, content_type, body, None).await
}

async fn post_as(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: &str,
    token: Option<&str>,
) -> Reply {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{auth}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, request.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_must_be_objects() {
    let served = serve_with(&[]).await;
    let json = "application/json";
    let r = post(
        served.addr,
        "/auth/login",
        json,
        r#"["member1@library.test","loadgen-password"]"#,
    )
    .await;
    assert_eq!(r.status, 422, "an array logged in: {r:?}");
    assert!(r.body["error"].is_string(), "{r:?}");
    let token = post(served.addr, "/auth/login", json, LOGIN).await.body["token"]
        .as_str()
        .expect("an object logs in")
        .to_string();
    let librarian = r#"{"email":"librarian1@library.test","password":"loadgen-password"}"#;
    let librarian = post(served.addr, "/auth/login", json, librarian).await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        ("/members", r#"["a@example.com","A","longenough"]"#, None),
        ("/loans", "[3]", Some(token.as_str())),
        (
            "/books",
            r#"["1","t","a",2000,1]"#,
            Some(librarian.as_str()),
        ),
        ("/auth/login", "\"member1@library.test\"", None),
        ("/auth/login", "null", None),
        ("/auth/login", "42", None),
    ];
    for (path, body, token) in cases {
        let r = post_as(served.addr, path, json, body, token).await;
        assert_eq!(r.status, 422, "{path} {body}: {r:?}");
        assert!(r.body["error"].is_string(), "{path}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_application_json_is_taken_as_json() {
    let served = serve_with(&[]).await;
    for content_type in [
        "application/vnd.evil+json",
        "application/problem+json",
        "application/json-seq",
        "text/json",
        "text/plain",
        "application/json; charset=latin1",
    ] {
        let r = post(served.addr, "/auth/login", content_type, LOGIN).await;
        assert_eq!(r.status, 415, "{content_type}: {r:?}");
        assert!(r.body["error"].is_string(), "{content_type}: {r:?}");
    }
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=\"UTF-8\"",
    ] {
        let r = post(served.addr, "/auth/login", content_type, LOGIN).await;
        assert_eq!(r.status, 200, "{content_type}: {r:?}");
    }
}
