//! Health, metrics and the OpenAPI document.

use axum::http::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn operational_endpoints() {
    let app = spawn_app().await;
    for path in [
        "/health/live",
        "/health/ready",
        "/health",
        "/health/circuit-breakers",
    ] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    let health = app.get("/health").await.body;
    assert_eq!(health["database"]["backend"], "sqlite");
    assert_eq!(health["cache"]["backend"], "memory");
    let breakers = app.get("/health/circuit-breakers").await.body;
    assert_eq!(breakers["breakers"][0]["state"], "closed");

    app.get("/books/1").await;
    let metrics = app.get("/metrics").await.body;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/books/{id}",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("circuit_breaker_open{dependency=\"database\"} 0"));

    let doc = app.get("/openapi.json").await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/books",
        "/books/{id}",
        "/members",
        "/auth/login",
        "/loans",
        "/loans/{id}/return",
        "/members/me/loans",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
