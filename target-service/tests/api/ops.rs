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

/// `serve` on a real socket: answers, then drains and returns when cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_and_shuts_down_gracefully() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut vars = crate::helpers::test_vars();
    let dir = std::env::temp_dir().join(format!("ts-serve-{:016x}", rand::random::<u64>()));
    vars.insert(
        "DATABASE_URL".into(),
        dir.join("db.sqlite").to_string_lossy().into_owned(),
    );
    let config = target_service::Config::from_map(&vars).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(target_service::serve(config, listener, stop.clone()));

    let mut reply = String::new();
    for _ in 0..100 {
        if let Ok(mut conn) = tokio::net::TcpStream::connect(addr).await {
            let req = "GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            conn.write_all(req.as_bytes()).await.unwrap();
            conn.read_to_string(&mut reply).await.unwrap();
            if reply.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    stop.cancel();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(15), server).await;
    outcome
        .expect("serve returns after cancel")
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
