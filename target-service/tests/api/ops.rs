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
    assert_eq!(breakers["breakers"][1]["late_excused"], 0);

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

/// Readiness follows the database: dropping it under a running app turns ready to 503,
/// and API calls fail with a JSON 503 instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_when_the_database_is_gone() {
    let mut vars = crate::helpers::test_vars();
    vars.insert("DB_TIMEOUT_MS".into(), "1000".into());
    vars.insert("RETRY_ATTEMPTS".into(), "1".into());
    let Some(app) = crate::helpers::spawn_pg_app_with(vars).await else {
        return;
    };
    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);
    let admin = std::env::var("LOADGEN_TEST_DATABASE_URL").unwrap();
    let name = app.state.config.database_url.clone().unwrap();
    let name = name.rsplit('/').next().unwrap().to_string();
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let ready = app.get("/health/ready").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        ready.body
    );
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    let book = app.get("/books/1").await;
    assert_eq!(
        book.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        book.body
    );
    assert!(book.headers.contains_key("retry-after"));
    assert!(book.body["error"].is_string());
}
