//! Hostile and malformed input gets a JSON 4xx, never a 5xx.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{on_both, TestApp};

fn raw(
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(body.into()).unwrap()
}

async fn hostile_input_is_a_client_error(app: &TestApp) {
    let token = app.login("member1@library.test").await;
    let librarian = app.librarian().await;
    let cases: Vec<(&str, Request<Body>)> = vec![
        (
            "bad json",
            raw(
                Method::POST,
                "/loans",
                Some(&token),
                "application/json",
                "{not json",
            ),
        ),
        (
            "wrong type",
            raw(
                Method::POST,
                "/loans",
                Some(&token),
                "application/json",
                r#"{"book_id":"one"}"#,
            ),
        ),
        (
            "missing field",
            raw(
                Method::POST,
                "/members",
                None,
                "application/json",
                r#"{"email":"a@b.c"}"#,
            ),
        ),
        (
            "no content type",
            raw(
                Method::POST,
                "/auth/login",
                None,
                "text/plain",
                r#"{"email":"a","password":"b"}"#,
            ),
        ),
        (
            "huge body",
            raw(
                Method::POST,
                "/members",
                None,
                "application/json",
                vec![b'x'; 200 * 1024],
            ),
        ),
        (
            "negative copies",
            raw(
                Method::POST,
                "/books",
                Some(&librarian),
                "application/json",
                json!({"isbn":"1","title":"t","author":"a","year":2000,"copies":-1}).to_string(),
            ),
        ),
        (
            "huge number",
            raw(
                Method::POST,
                "/loans",
                Some(&token),
                "application/json",
                r#"{"book_id":99999999999999999999999}"#,
            ),
        ),
        (
            "bad email",
            raw(
                Method::POST,
                "/members",
                None,
                "application/json",
                json!({"email":"nope","name":"n","password":"longenough"}).to_string(),
            ),
        ),
        (
            "forged token",
            raw(
                Method::GET,
                "/members/me/loans",
                Some("v1.1.librarian.9999999999.00.abcd"),
                "application/json",
                "",
            ),
        ),
    ];
    for (name, req) in cases {
        let r = app.send(req).await;
        assert!(
            r.status.is_client_error(),
            "{name}: {} {:?}",
            r.status,
            r.body
        );
        assert!(
            r.body.get("error").is_some(),
            "{name}: JSON error body, got {:?}",
            r.body
        );
    }

    for path in [
        "/books?q=%27%3B%20DROP%20TABLE%20books%3B--",
        "/books?q=%25%25%25_",
        "/books?q=%5C",
        "/books?q=%27%20OR%201%3D1--&page=1",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        assert_eq!(r.body["total"], 0, "{path} matched literally");
    }
    assert_eq!(
        app.get("/books").await.body["total"],
        60,
        "books table intact"
    );

    for path in [
        "/books?page=0",
        "/books?page=-1",
        "/books?per_page=101",
        "/books?per_page=abc",
        "/books?page=99999999999999999999",
        "/books/0",
        "/books/-5",
        "/books/1.5",
        "/books/99999999999999999999",
        "/books/%27%20OR%201=1",
        "/books?q=%00",
        "/books?q=a%0Ab",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {:?}", r.body);
    }
    let long_q = format!("/books?q={}", "a".repeat(500));
    assert_eq!(app.get(&long_q).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/no/such/route").await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .request(Method::POST, "/loans/abc/return", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .request(Method::POST, "/loans/424242/return", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
on_both!(hostile_input_is_a_client_error);
