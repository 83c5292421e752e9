//! Registration and login.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{on_both, TestApp};

async fn register_then_login(app: &TestApp) {
    let body = json!({"email": "new.reader@example.com", "name": "New Reader", "password": "correct horse"});
    let r = app
        .request(Method::POST, "/members", None, Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["email"], "new.reader@example.com");
    assert!(r.body.get("password_hash").is_none());
    let again = app
        .request(Method::POST, "/members", None, Some(body))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let login = json!({"email": "new.reader@example.com", "password": "correct horse"});
    let r = app
        .request(Method::POST, "/auth/login", None, Some(login))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["role"], "member");
    assert!(r.body["token"].as_str().is_some_and(|t| !t.is_empty()));

    let wrong = json!({"email": "new.reader@example.com", "password": "wrong password"});
    assert_eq!(
        app.request(Method::POST, "/auth/login", None, Some(wrong))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let nobody = json!({"email": "nobody@example.com", "password": "whatever1"});
    assert_eq!(
        app.request(Method::POST, "/auth/login", None, Some(nobody))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}
on_both!(register_then_login);

async fn seeded_accounts_log_in(app: &TestApp) {
    let login = json!({"email": "librarian10@library.test", "password": "loadgen-password"});
    let r = app
        .request(Method::POST, "/auth/login", None, Some(login))
        .await;
    assert_eq!(
        (r.status, r.body["role"].as_str()),
        (StatusCode::OK, Some("librarian"))
    );
    let login = json!({"email": "member30@library.test", "password": "loadgen-password"});
    let r = app
        .request(Method::POST, "/auth/login", None, Some(login))
        .await;
    assert_eq!(
        (r.status, r.body["member_id"].as_i64()),
        (StatusCode::OK, Some(30))
    );
}
on_both!(seeded_accounts_log_in);

#[tokio::test]
async fn seeding_is_idempotent() {
    let app = crate::helpers::spawn_app().await;
    app.state.seed().await.unwrap();
    app.state
        .store
        .seed(
            &target_service::store::SeedPlan {
                books: 60,
                members: 30,
            },
            "x",
        )
        .await
        .unwrap();
    assert_eq!(app.get("/books").await.body["total"], 60);
}
