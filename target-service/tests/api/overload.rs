//! Overload protection: shedding (503) and rate limiting (429), both with Retry-After.

use axum::http::StatusCode;

use crate::helpers::{spawn_app_with, test_vars};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let mut vars = test_vars();
    vars.insert("RATE_LIMIT_PER_SEC".into(), "5".into());
    vars.insert("RATE_LIMIT_BURST".into(), "5".into());
    let app = spawn_app_with(vars).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = app.get("/books/1").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers.contains_key("retry-after"));
            assert!(r.body["error"].is_string());
        }
        statuses.push(r.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        3
    );
    assert_eq!(
        app.get("/health/live").await.status,
        StatusCode::OK,
        "health is never limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overload_is_shed_with_503() {
    let mut vars = test_vars();
    vars.insert("MAX_IN_FLIGHT".into(), "2".into());
    let app = spawn_app_with(vars).await;
    // Hold two slots with slow requests: logins with an expensive hash.
    let hold = app.state.in_flight.clone();
    let _a = hold.try_enter().unwrap();
    let _b = hold.try_enter().unwrap();
    let r = app.get("/books/1").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        app.get("/health/ready").await.status,
        StatusCode::OK,
        "health bypasses shedding"
    );
    drop((_a, _b));
    assert_eq!(app.get("/books/1").await.status, StatusCode::OK);
}
