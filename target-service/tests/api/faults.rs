//! Faults of real dependencies, each behind a private proxy the test kills and
//! restarts: the broker dies mid-stream and no event is lost; the database
//! goes away and ready says 503, the breaker opens, then closes on recovery.

use crate::helpers::{build, spawn_app_with, test_vars, PgTestDb};
use crate::proxy::{host_port, through, Proxy};
use axum::http::{Method, StatusCode};
use lapin::options::{BasicGetOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use target_service::events::relay_once;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_mid_stream_loses_no_event() {
    let Ok(url) = std::env::var("LOADGEN_TEST_RABBITMQ_URL") else {
        eprintln!("skipped: LOADGEN_TEST_RABBITMQ_URL not set");
        return;
    };
    let mut broker = Proxy::start(&host_port(&url)).await;
    let suffix = format!("{:016x}", rand::random::<u64>());
    let (exchange, queue) = (
        format!("ts-fault-ex-{suffix}"),
        format!("ts-fault-q-{suffix}"),
    );
    let mut vars = test_vars();
    vars.insert("RABBITMQ_URL".into(), through(&url, &broker));
    vars.insert("RABBITMQ_EXCHANGE".into(), exchange.clone());
    vars.insert("RABBITMQ_QUEUE".into(), queue.clone());
    vars.insert("RABBITMQ_TIMEOUT_MS".into(), "1000".into());
    let app = spawn_app_with(vars).await;
    let mut loans = BTreeSet::new();
    let borrow = |email: &'static str, book: i64| {
        let app = &app;
        async move {
            let token = app.login(email).await;
            let r = app
                .request(
                    Method::POST,
                    "/loans",
                    Some(&token),
                    Some(json!({ "book_id": book })),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["id"].as_i64().unwrap()
        }
    };
    for book in [11, 12, 13] {
        loans.insert(borrow("member1@library.test", book).await);
    }
    let first = relay_once(app.state.store.as_ref(), app.state.publisher.as_ref())
        .await
        .unwrap();
    assert_eq!((first.published, first.failed), (3, 0));

    // The broker dies; loans go on, their events wait in the outbox.
    broker.kill().await;
    for book in [14, 15] {
        loans.insert(borrow("member2@library.test", book).await);
    }
    let down = relay_once(app.state.store.as_ref(), app.state.publisher.as_ref())
        .await
        .unwrap();
    assert_eq!(down.published, 0);
    assert_eq!(app.state.store.outbox_pending().await.unwrap(), 2);

    // It comes back: the relay reconnects and delivers the rest.
    broker.restart().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.state.store.outbox_pending().await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "events still pending after the broker came back"
        );
        let _ = relay_once(app.state.store.as_ref(), app.state.publisher.as_ref()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let mut delivered = BTreeSet::new();
    while let Some(msg) = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let event: serde_json::Value = serde_json::from_slice(&msg.delivery.data).unwrap();
        assert_eq!(event["type"], "loan.created");
        delivered.insert(event["loan"]["id"].as_i64().unwrap());
    }
    assert_eq!(delivered, loans, "every loan's event arrived");
    let _ = channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    let _ = channel
        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await;
    let _ = conn.close(200, "done".into()).await;
}

async fn breaker_state(app: &crate::helpers::TestApp, name: &str) -> String {
    let r = app.get("/health/circuit-breakers").await;
    let list = r.body["breakers"].as_array().cloned().unwrap_or_default();
    let b = list
        .iter()
        .find(|b| b["name"].as_str().is_some_and(|n| n.contains(name)));
    b.map(|b| b["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| format!("no '{name}' breaker in {:?}", r.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_opens_the_breaker_and_recovery_closes_it() {
    let Ok(admin) = std::env::var("LOADGEN_TEST_DATABASE_URL") else {
        eprintln!("skipped: LOADGEN_TEST_DATABASE_URL not set");
        return;
    };
    let db = Arc::new(PgTestDb::create(&admin).await);
    let mut pg = Proxy::start(&host_port(&db.url)).await;
    let mut vars = test_vars();
    vars.insert("DATABASE_URL".into(), through(&db.url, &pg));
    vars.insert("DB_TIMEOUT_MS".into(), "1000".into());
    vars.insert("RETRY_ATTEMPTS".into(), "1".into());
    vars.insert("BREAKER_FAILURE_THRESHOLD".into(), "3".into());
    vars.insert("BREAKER_OPEN_MS".into(), "3000".into());
    let app = build(vars, Some(db)).await;
    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);
    assert_eq!(breaker_state(&app, "database").await, "closed");

    pg.kill().await;
    for id in 100..110 {
        let r = app.get(&format!("/books/{id}")).await;
        assert!(
            r.status.is_server_error(),
            "book {id} during the outage: {}",
            r.status
        );
        assert!(r.headers.contains_key("retry-after"));
    }
    assert_eq!(
        app.get("/health/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        breaker_state(&app, "database").await,
        "open",
        "fails fast while the database is gone"
    );

    pg.restart().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut id = 200;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        id += 1;
        // Answered from the database again (found or not), not failed fast.
        if !app
            .get(&format!("/books/{id}"))
            .await
            .status
            .is_server_error()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the service never recovered");
    }
    assert_eq!(breaker_state(&app, "database").await, "closed");
    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);
}
