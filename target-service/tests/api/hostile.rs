//! Input that used to hurt other users: control characters that PostgreSQL refuses
//! (once a breaker-opening 500), a database refusing data, idempotency keys reused
//! for another book, unknown fields, and the error shape of every refusal.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{on_both, spawn_pg_app, TestApp, PASSWORD};

const NUL_LOGIN: &str = r#"{"email":"x\u0000@x.test","password":"whatever1"}"#;

async fn post_json(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let r = app
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    (r.status, r.body)
}

async fn control_characters_are_a_400(app: &TestApp) {
    let librarian = app.librarian().await;
    let book = |title: &str| {
        json!({"isbn": "1", "title": title, "author": "a", "year": 2000, "copies": 1}).to_string()
    };
    let member = |name: &str, email: &str| {
        json!({"email": email, "name": name, "password": "longenough"}).to_string()
    };
    let cases = [
        ("/auth/login", None, NUL_LOGIN.to_string()),
        (
            "/auth/login",
            None,
            json!({"email": "member1@library.test", "password": "loadgen\u{7}password"})
                .to_string(),
        ),
        ("/members", None, member("Ann\u{0}", "ann@example.com")),
        ("/members", None, member("Ann", "ann\u{1b}@example.com")),
        (
            "/members",
            None,
            json!({"email": "b@example.com", "name": "B", "password": "long\u{0}enough"})
                .to_string(),
        ),
        ("/books", Some(librarian.as_str()), book("Title\u{0}")),
        ("/books", Some(librarian.as_str()), book("Line\nbreak")),
        (
            "/books",
            Some(librarian.as_str()),
            book("C1 \u{85} control"),
        ),
    ];
    for (path, token, body) in cases {
        let (status, reply) = post_json(app, path, token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {reply:?}");
        assert!(
            reply["error"].is_string(),
            "{path}: JSON error, got {reply:?}"
        );
    }
    let (status, _) = post_json(app, "/members", None, &member("Ann", "ann@example.com")).await;
    assert_eq!(status, StatusCode::CREATED, "nothing above was stored");
}
on_both!(control_characters_are_a_400);

/// Two of these used to open the database breaker for everyone (500, counted, retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nul_logins_never_open_the_database_breaker() {
    let Some(app) = spawn_pg_app().await else {
        return;
    };
    for _ in 0..10 {
        let (status, body) = post_json(&app, "/auth/login", None, NUL_LOGIN).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
    }
    let breaker = app.state.guards.db.breaker.status();
    assert_eq!(
        (format!("{:?}", breaker.state), breaker.times_opened),
        ("Closed".to_string(), 0)
    );
    assert_eq!(app.get("/books/7").await.status, StatusCode::OK);
    let login = json!({"email": "member3@library.test", "password": PASSWORD}).to_string();
    assert_eq!(
        post_json(&app, "/auth/login", None, &login).await.0,
        StatusCode::OK
    );
}

/// Defence in depth: data the database refuses (SQLSTATE class 22/23) is the client's
/// or the data's fault, so it is neither a dependency failure nor worth a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_data_is_not_a_database_failure() {
    let Some(app) = spawn_pg_app().await else {
        return;
    };
    let state = &app.state;
    for _ in 0..10 {
        let calls = AtomicU32::new(0);
        let out = target_service::routes::db_read(state, |store| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { store.credentials("x\u{0}@x.test").await }
        })
        .await;
        let err = out.expect_err("PostgreSQL refuses a NUL byte");
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "refused data is not retried"
        );
    }
    let breaker = state.guards.db.breaker.status();
    assert_eq!((breaker.consecutive_failures, breaker.times_opened), (0, 0));
}

async fn idempotency_key_reused_for_another_book_is_422(app: &TestApp) {
    let token = app.login("member8@library.test").await;
    let borrow = |book: i64, key: &'static str| {
        let token = token.clone();
        async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/loans")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(Body::from(json!({ "book_id": book }).to_string()))
                .unwrap();
            app.send(req).await
        }
    };
    assert_eq!(borrow(21, "k-1").await.status, StatusCode::CREATED);
    let other = borrow(22, "k-1").await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        other.body
    );
    assert!(other.body["error"].is_string());
    assert_eq!(
        borrow(21, "k-1").await.status,
        StatusCode::OK,
        "same request replays"
    );
    let before = app.get("/books/22").await.body["copies_available"].clone();
    assert_eq!(
        borrow(22, "").await.status,
        StatusCode::BAD_REQUEST,
        "an empty key is a 400"
    );
    assert_eq!(app.get("/books/22").await.body["copies_available"], before);
}
on_both!(idempotency_key_reused_for_another_book_is_422);

async fn unknown_fields_are_refused_everywhere(app: &TestApp) {
    let token = app.login("member9@library.test").await;
    let cases = [
        (
            "/members",
            None,
            json!({"email": "c@example.com", "name": "C", "password": "longenough", "role": "librarian"}),
        ),
        (
            "/auth/login",
            None,
            json!({"email": "member9@library.test", "password": PASSWORD, "extra": 1}),
        ),
        (
            "/loans",
            Some(token.as_str()),
            json!({"book_id": 3, "copies": 2}),
        ),
    ];
    for (path, token, body) in cases {
        let (status, reply) = post_json(app, path, token, &body.to_string()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {reply:?}"
        );
        assert!(reply["error"].is_string());
    }
}
on_both!(unknown_fields_are_refused_everywhere);

async fn wrong_method_is_a_json_405(app: &TestApp) {
    for (method, path) in [
        (Method::DELETE, "/books"),
        (Method::PATCH, "/books/1"),
        (Method::GET, "/loans"),
        (Method::POST, "/health/live"),
    ] {
        let r = app.request(method.clone(), path, None, None).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(r.body["error"].is_string(), "{method} {path}: {:?}", r.body);
        assert!(r.headers.contains_key("allow"), "{method} {path}");
    }
    let r = app.get("/books/%FF").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"].is_string(), "{:?}", r.body);
}
on_both!(wrong_method_is_a_json_405);
