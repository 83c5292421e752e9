//! Redis cache-aside: reads fill the cache, loans invalidate it, a dead Redis is a miss.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use redis::AsyncCommands;
use serde_json::json;

use crate::helpers::{spawn_app_with, test_vars, TestApp};

fn unique_prefix() -> String {
    format!("ts-test-{:016x}:", rand::random::<u64>())
}

async fn app_on_redis(url: &str, prefix: &str) -> TestApp {
    let mut vars = test_vars();
    vars.insert("REDIS_URL".into(), url.into());
    vars.insert("CACHE_PREFIX".into(), prefix.into());
    vars.insert("REDIS_TIMEOUT_MS".into(), "200".into());
    spawn_app_with(vars).await
}

/// Deletes this test's keys only; the shared Redis is never flushed.
async fn delete_prefix(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) {
    let keys: Vec<String> = conn.keys(format!("{prefix}*")).await.unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = conn.del(keys).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_cached_and_loans_invalidate() {
    let Ok(url) = std::env::var("LOADGEN_TEST_REDIS_URL") else {
        eprintln!("skipped: LOADGEN_TEST_REDIS_URL not set");
        return;
    };
    let prefix = unique_prefix();
    let app = app_on_redis(&url, &prefix).await;
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let first = app.get("/books/3").await;
    assert_eq!(first.status, StatusCode::OK);
    let cached: Option<String> = conn.get(format!("{prefix}book:3")).await.unwrap();
    let cached: serde_json::Value = serde_json::from_str(&cached.expect("book cached")).unwrap();
    assert_eq!(cached, first.body);
    let ttl: i64 = conn.ttl(format!("{prefix}book:3")).await.unwrap();
    assert!((1..=300).contains(&ttl), "ttl {ttl}");

    let token = app.login("member1@library.test").await;
    let loan = app
        .request(
            Method::POST,
            "/loans",
            Some(&token),
            Some(json!({"book_id": 3})),
        )
        .await;
    assert_eq!(loan.status, StatusCode::CREATED);
    let gone: Option<String> = conn.get(format!("{prefix}book:3")).await.unwrap();
    assert!(gone.is_none(), "borrowing invalidates the cached book");
    let after = app.get("/books/3").await;
    assert_eq!(
        after.body["copies_available"].as_i64(),
        first.body["copies_available"].as_i64().map(|n| n - 1)
    );

    let search = app.get("/books?q=king").await;
    assert_eq!(search.status, StatusCode::OK);
    let keys: Vec<String> = conn.keys(format!("{prefix}search:*")).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    // The query's total is cached apart from its pages, and a second page reuses it.
    let totals: Vec<String> = conn.keys(format!("{prefix}count:*")).await.unwrap();
    assert_eq!(totals.len(), 1, "{totals:?}");
    let page2 = app.get("/books?q=king&page=2").await;
    assert_eq!(page2.body["total"], search.body["total"]);
    assert_eq!(app.get("/books?q=king").await.body, search.body);

    // A new book joins cached searches when they expire; an edit moves searches
    // to a new catalogue version at once.
    let librarian = app.librarian().await;
    let book =
        json!({"isbn": "1", "title": "King of Tests", "author": "A", "year": 2000, "copies": 1});
    let created = app
        .request(Method::POST, "/books", Some(&librarian), Some(book.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let cached = app.get("/books?q=king").await;
    assert_eq!(cached.body, search.body, "still the cached page");
    let id = created.body["id"].as_i64().unwrap();
    let edited = app
        .request(
            Method::PUT,
            &format!("/books/{id}"),
            Some(&librarian),
            Some(book),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK);
    let fresh = app.get("/books?q=king").await;
    assert_eq!(
        fresh.body["total"].as_i64(),
        search.body["total"].as_i64().map(|n| n + 1)
    );

    let health = app.get("/health").await.body;
    assert_eq!(
        (
            health["cache"]["backend"].as_str(),
            health["cache"]["ok"].as_bool()
        ),
        (Some("redis"), Some(true))
    );
    delete_prefix(&mut conn, &prefix).await;
}

/// A private redis-server on a free port, killed on drop.
struct PrivateRedis {
    child: Child,
    url: String,
}

impl PrivateRedis {
    fn start() -> Option<PrivateRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(PrivateRedis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        })
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_survive_redis_dying() {
    let Some(mut redis) = PrivateRedis::start() else {
        eprintln!("skipped: redis-server not available");
        return;
    };
    let app = app_on_redis(&redis.url, &unique_prefix()).await;
    assert_eq!(app.get("/books/5").await.status, StatusCode::OK);
    assert_eq!(app.get("/books/5").await.status, StatusCode::OK);

    redis.kill();
    let started = Instant::now();
    for id in 1..=20 {
        let r = app.get(&format!("/books/{id}")).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "book {id} with Redis down: {:?}",
            r.body
        );
    }
    let token = app.login("member2@library.test").await;
    let loan = app
        .request(
            Method::POST,
            "/loans",
            Some(&token),
            Some(json!({"book_id": 5})),
        )
        .await;
    assert_eq!(loan.status, StatusCode::CREATED);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "Redis failures must be fast: {:?}",
        started.elapsed()
    );

    let breakers = app.get("/health/circuit-breakers").await.body;
    let redis_state = breakers["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "redis")
        .unwrap()
        .clone();
    assert_eq!(redis_state["state"], "open", "{redis_state}");
    let health = app.get("/health").await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (StatusCode::OK, Some("degraded"))
    );
}
