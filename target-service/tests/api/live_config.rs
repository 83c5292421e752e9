//! Live knobs without etcd: a change published to the knobs (as the etcd watch does)
//! reaches the running app at once; `/admin/config` is for librarians.

use std::time::Duration;

use axum::http::{Method, StatusCode};

use crate::helpers::{spawn_app, spawn_app_with, test_vars};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_rate_limit_change_brings_429s_at_once() {
    let app = spawn_app().await;
    for _ in 0..20 {
        assert_eq!(app.get("/books/1").await.status, StatusCode::OK);
    }
    app.state
        .knobs
        .set_etcd_value("rate_limit/per_sec", Some("2"));
    let statuses: Vec<_> = futures_util::future::join_all((0..6).map(|_| app.get("/books/1")))
        .await
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    app.state
        .knobs
        .set_etcd_value("rate_limit/per_sec", Some("0"));
    assert_eq!(
        app.get("/books/1").await.status,
        StatusCode::OK,
        "0 turns it off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_in_flight_limit_and_breaker_reach_their_parts() {
    let app = spawn_app().await;
    app.state
        .knobs
        .set_etcd_value("limits/max_in_flight", Some("3"));
    app.state
        .knobs
        .set_etcd_value("circuit_breakers/open_ms", Some("1500"));
    app.state.knobs.set_etcd_value("cache/ttl_secs", Some("7"));
    assert_eq!(app.state.in_flight.max(), 3);
    assert_eq!(app.state.cache.ttls().0, Duration::from_secs(7));
    assert_eq!(
        app.state.knobs.current().breaker.open_for,
        Duration::from_millis(1500)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_config_is_for_librarians_and_names_each_source() {
    let mut vars = test_vars();
    vars.insert("MAX_IN_FLIGHT".into(), "500".into());
    let app = spawn_app_with(vars).await;
    assert_eq!(
        app.get("/admin/config").await.status,
        StatusCode::UNAUTHORIZED
    );
    let member = app.login("member1@library.test").await;
    let r = app
        .request(Method::GET, "/admin/config", Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.state.knobs.set_etcd_value("retry/attempts", Some("2"));
    let librarian = app.librarian().await;
    let r = app
        .request(Method::GET, "/admin/config", Some(&librarian), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["etcd"]["status"], "off");
    let knob = |env: &str| {
        r.body["knobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["env"] == env)
            .cloned()
            .unwrap()
    };
    assert_eq!(knob("MAX_IN_FLIGHT")["source"], "env");
    assert_eq!(knob("MAX_IN_FLIGHT")["value"], "500");
    assert_eq!(knob("RETRY_ATTEMPTS")["source"], "etcd");
    assert_eq!(knob("CACHE_TTL_SECS")["source"], "default");
    assert_eq!(knob("CACHE_TTL_SECS")["reload"], "live");
    assert_eq!(knob("TOKEN_SECRET")["value"], "(hidden)");
    assert_eq!(knob("DB_MAX_CONNECTIONS")["reload"], "restart");
    let ready = app.get("/health/ready").await.body;
    assert!(
        ready.get("config").is_none(),
        "no etcd, no details: {ready}"
    );
}

#[cfg(not(feature = "etcd"))]
#[test]
fn etcd_url_without_the_etcd_feature_fails_with_how_to_build_it() {
    let mut vars = test_vars();
    vars.insert("ETCD_URL".into(), "http://127.0.0.1:2379".into());
    let error = target_service::Config::from_map(&vars)
        .unwrap_err()
        .to_string();
    assert!(error.contains("built without etcd support"), "{error}");
    assert!(error.contains("--features etcd"), "{error}");
}
