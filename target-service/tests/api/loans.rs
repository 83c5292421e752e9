//! Borrowing and returning, including the invariants under concurrent requests.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{on_both, Response, TestApp};

async fn borrow(app: &TestApp, token: &str, book_id: i64, key: Option<&str>) -> Response {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/loans")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    app.send(
        req.body(Body::from(json!({"book_id": book_id}).to_string()))
            .unwrap(),
    )
    .await
}

async fn tokens(app: &TestApp, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(app.login(&format!("member{i}@library.test")).await);
    }
    out
}

async fn concurrent_borrows_never_oversell(app: &TestApp) {
    let book = app.add_book(10).await;
    let members = tokens(app, 20).await;
    let attempts = (0..200).map(|i| {
        let token = members[i % members.len()].clone();
        async move { borrow(app, &token, book, None).await.status }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!(created, 10, "{statuses:?}");
    assert_eq!(created + conflicts, 200, "only 201 or 409: {statuses:?}");
    let b = app.get(&format!("/books/{book}")).await;
    assert_eq!(b.body["copies_available"], 0);
}
on_both!(concurrent_borrows_never_oversell);

async fn loan_limit_holds_under_concurrency(app: &TestApp) {
    let token = app.login("member2@library.test").await;
    let attempts = (1..=20).map(|book| {
        let token = token.clone();
        async move { borrow(app, &token, book, None).await.status }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        5,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT));
    let mine = app
        .request(Method::GET, "/members/me/loans", Some(&token), None)
        .await;
    assert_eq!(mine.body.as_array().unwrap().len(), 5);
}
on_both!(loan_limit_holds_under_concurrency);

async fn idempotency_key_replays_the_same_loan(app: &TestApp) {
    let book = app.add_book(5).await;
    let token = app.login("member3@library.test").await;
    let first = borrow(app, &token, book, Some("key-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let again = borrow(app, &token, book, Some("key-1")).await;
    assert!(again.status.is_success());
    assert_eq!(again.body["id"], first.body["id"]);

    let racing = (0..20).map(|_| {
        let token = token.clone();
        async move { borrow(app, &token, book, Some("key-2")).await }
    });
    let results = futures_util::future::join_all(racing).await;
    let ids: std::collections::HashSet<_> = results.iter().map(|r| r.body["id"].as_i64()).collect();
    assert!(
        results.iter().all(|r| r.status.is_success()),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(ids.len(), 1, "one loan per key: {ids:?}");
    assert_eq!(
        app.get(&format!("/books/{book}")).await.body["copies_available"],
        3
    );
}
on_both!(idempotency_key_replays_the_same_loan);

async fn return_flow(app: &TestApp) {
    let book = app.add_book(1).await;
    let alice = app.login("member4@library.test").await;
    let bob = app.login("member5@library.test").await;
    let loan = borrow(app, &alice, book, None).await;
    assert_eq!(loan.status, StatusCode::CREATED);
    assert_eq!(loan.body["status"], "active");
    assert!(loan.body["returned_at"].is_null());
    assert_eq!(
        borrow(app, &bob, book, None).await.status,
        StatusCode::CONFLICT,
        "no copies left"
    );

    let id = loan.body["id"].as_i64().unwrap();
    let path = format!("/loans/{id}/return");
    assert_eq!(
        app.request(Method::POST, &path, Some(&bob), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.request(Method::POST, &path, None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let back = app.request(Method::POST, &path, Some(&alice), None).await;
    assert_eq!(
        (back.status, back.body["status"].as_str()),
        (StatusCode::OK, Some("returned"))
    );
    assert!(back.body["returned_at"].is_string());
    assert_eq!(
        app.request(Method::POST, &path, Some(&alice), None)
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.get(&format!("/books/{book}")).await.body["copies_available"],
        1
    );

    let second = borrow(app, &alice, book, None).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let mine = app
        .request(Method::GET, "/members/me/loans", Some(&alice), None)
        .await;
    let statuses: Vec<_> = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "returned"]);
}
on_both!(return_flow);

async fn unknown_book_is_404(app: &TestApp) {
    let token = app.login("member6@library.test").await;
    assert_eq!(
        borrow(app, &token, 987_654, None).await.status,
        StatusCode::NOT_FOUND
    );
    // The failed attempt must not have used up a loan slot.
    let mine = app
        .request(Method::GET, "/members/me/loans", Some(&token), None)
        .await;
    assert_eq!(mine.body.as_array().unwrap().len(), 0);
    for book in 1..=5 {
        assert_eq!(
            borrow(app, &token, book, None).await.status,
            StatusCode::CREATED
        );
    }
}
on_both!(unknown_book_is_404);

async fn loans_emit_outbox_events(app: &TestApp) {
    let token = app.login("member7@library.test").await;
    let loan = borrow(app, &token, 1, None).await;
    let id = loan.body["id"].as_i64().unwrap();
    app.request(
        Method::POST,
        &format!("/loans/{id}/return"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(app.state.store.outbox_pending().await.unwrap(), 2);
    let relayed =
        target_service::events::relay_once(app.state.store.as_ref(), app.state.publisher.as_ref())
            .await
            .unwrap();
    assert_eq!(relayed.published, 2);
    assert_eq!(app.state.store.outbox_pending().await.unwrap(), 0);
    let store = &app.state.store;
    assert_eq!(
        store
            .prune_outbox("2000-01-01T00:00:00.000Z")
            .await
            .unwrap(),
        0,
        "recent rows stay"
    );
    assert_eq!(
        store
            .prune_outbox("9999-01-01T00:00:00.000Z")
            .await
            .unwrap(),
        2
    );
}
on_both!(loans_emit_outbox_events);

async fn my_loans_are_fresh_after_each_borrow_and_return(app: &TestApp) {
    let book = app.add_book(2).await;
    let token = app.login("member9@library.test").await;
    let mine = || async {
        let reply = app
            .request(Method::GET, "/members/me/loans", Some(&token), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["status"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // The first read fills the member's cached list; each write must drop it.
    assert!(mine().await.is_empty());
    let loan = borrow(app, &token, book, None).await;
    assert_eq!(loan.status, StatusCode::CREATED);
    assert_eq!(mine().await, ["active"]);
    let path = format!("/loans/{}/return", loan.body["id"]);
    let back = app.request(Method::POST, &path, Some(&token), None).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(mine().await, ["returned"]);
}
on_both!(my_loans_are_fresh_after_each_borrow_and_return);
