//! Knobs from a real etcd (feature `etcd`): read at start, watched, a bad value
//! refused, etcd lost and back, restart-only keys pending. Each test starts a private
//! etcd (`etcd_server.rs`) and skips when etcd is not installed.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::etcd_server::EtcdServer;
use crate::helpers::{spawn_app_with, test_vars, TestApp};

async fn app_on(etcd: &EtcdServer) -> TestApp {
    let mut vars = test_vars();
    vars.insert("ETCD_URL".into(), etcd.url.clone());
    spawn_app_with(vars).await
}

/// How long `condition` took to hold, or `None` if it did not within `limit`.
async fn within<F, Fut>(limit: Duration, mut condition: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn admin_config(app: &TestApp) -> Value {
    let token = app.librarian().await;
    let r = app
        .request(Method::GET, "/admin/config", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

fn knob<'a>(config: &'a Value, env: &str) -> &'a Value {
    config["knobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["env"] == env)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_starts_from_etcd_values_under_the_environment() {
    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    etcd.put("/config/limits/max_in_flight", "77").await;
    etcd.put("/config/cache/search_ttl_secs", "9").await;
    etcd.put("/config/outbox/retention_secs", "120").await;
    // The environment wins: test_vars sets SEED_BOOKS to 60.
    etcd.put("/config/seed/books", "61").await;
    let app = app_on(&etcd).await;
    assert_eq!(app.state.config.max_in_flight, 77);
    assert_eq!(app.state.in_flight.max(), 77);
    assert_eq!(app.state.cache.ttls().1, Duration::from_secs(9));
    assert_eq!(
        app.state.config.outbox_retention,
        Duration::from_secs(120),
        "restart-only, read at start"
    );
    assert_eq!(app.state.config.seed_books, 60);
    let config = admin_config(&app).await;
    assert_eq!(knob(&config, "MAX_IN_FLIGHT")["source"], "etcd");
    assert_eq!(knob(&config, "OUTBOX_RETENTION_SECS")["source"], "etcd");
    assert_eq!(knob(&config, "SEED_BOOKS")["source"], "env");
    assert_eq!(knob(&config, "RETRY_ATTEMPTS")["source"], "default");
    let watching = within(Duration::from_secs(5), || async {
        admin_config(&app).await["etcd"]["status"] == "watching"
    })
    .await;
    assert!(watching.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_put_in_etcd_brings_429s_on_every_instance_within_2s() {
    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    let apps = [app_on(&etcd).await, app_on(&etcd).await];
    for app in &apps {
        let ready = within(Duration::from_secs(5), || async {
            app.get("/health/ready").await.body["config"]["etcd"] == "watching"
        });
        assert!(ready.await.is_some(), "the watch is up");
        for _ in 0..10 {
            assert_eq!(app.get("/books/1").await.status, StatusCode::OK);
        }
    }
    etcd.put("/config/rate_limit/per_sec", "2").await;
    for (i, app) in apps.iter().enumerate() {
        let limited = within(Duration::from_secs(2), || async {
            let mut statuses = Vec::new();
            for _ in 0..4 {
                statuses.push(app.get("/books/1").await.status);
            }
            statuses.contains(&StatusCode::TOO_MANY_REQUESTS)
        })
        .await;
        let took = limited.unwrap_or_else(|| panic!("instance {i}: no 429 within 2 s"));
        eprintln!("instance {i}: 429s after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_is_refused_and_the_last_good_one_stays() {
    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    etcd.put("/config/rate_limit/per_sec", "50").await;
    let app = app_on(&etcd).await;
    assert_eq!(app.state.knobs.current().rate_limit_per_sec, 50);
    let watching = within(Duration::from_secs(5), || async {
        app.get("/health/ready").await.body["config"]["etcd"] == "watching"
    });
    assert!(watching.await.is_some());
    etcd.put("/config/rate_limit/per_sec", "lots").await;
    etcd.put("/config/retry/attempts", "0").await;
    // Events arrive in order: once this one is applied, the bad ones were seen.
    etcd.put("/config/cache/ttl_secs", "42").await;
    let applied = within(Duration::from_secs(2), || async {
        app.state.knobs.current().cache_ttl == Duration::from_secs(42)
    });
    assert!(applied.await.is_some());
    let live = app.state.knobs.current();
    assert_eq!(live.rate_limit_per_sec, 50, "the last good value stays");
    assert_eq!(live.retry_attempts, 3, "the default stays");
    let config = admin_config(&app).await;
    assert_eq!(knob(&config, "RATE_LIMIT_PER_SEC")["value"], "50");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_lost_mid_run_changes_nothing_and_is_watched_again_when_back() {
    let Some(mut etcd) = EtcdServer::start().await else {
        return;
    };
    etcd.put("/config/rate_limit/per_sec", "1000").await;
    etcd.put("/config/limits/max_in_flight", "99").await;
    let app = app_on(&etcd).await;
    let status = |app: &TestApp| {
        let knobs = app.state.knobs.clone();
        async move { knobs.etcd_status() }
    };
    let watching = within(Duration::from_secs(5), || async {
        status(&app).await == target_service::config::knobs::EtcdStatus::Watching
    });
    assert!(watching.await.is_some());
    let before = app.state.knobs.current();

    etcd.kill();
    let noticed = within(Duration::from_secs(5), || async {
        status(&app).await == target_service::config::knobs::EtcdStatus::Unreachable
    });
    assert!(noticed.await.is_some(), "the loss is noticed");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.state.knobs.current(), before, "nothing changed");
    assert_eq!(app.state.in_flight.max(), 99);
    assert_eq!(app.get("/books/1").await.status, StatusCode::OK);
    let ready = app.get("/health/ready").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "etcd is not a readiness dependency"
    );
    assert_eq!(ready.body["config"]["etcd"], "unreachable");
    assert_eq!(
        knob(&admin_config(&app).await, "MAX_IN_FLIGHT")["source"],
        "etcd"
    );

    etcd.run().await;
    etcd.put("/config/limits/max_in_flight", "12").await;
    let followed = within(Duration::from_secs(10), || async {
        app.state.in_flight.max() == 12
    });
    assert!(followed.await.is_some(), "watched again once back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_at_start_the_service_starts_and_picks_etcd_up_later() {
    let Some(mut etcd) = EtcdServer::reserve() else {
        return;
    };
    let started = Instant::now();
    let app = app_on(&etcd).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        app.state.knobs.etcd_status().to_owned(),
        target_service::config::knobs::EtcdStatus::Unreachable
    );
    assert_eq!(app.get("/books/1").await.status, StatusCode::OK);
    etcd.run().await;
    etcd.put("/config/limits/max_in_flight", "33").await;
    let followed = within(Duration::from_secs(10), || async {
        app.state.in_flight.max() == 33
    });
    assert!(followed.await.is_some(), "picked up once etcd answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_only_key_is_pending_in_ready_and_admin_config() {
    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    let app = app_on(&etcd).await;
    let watching = within(Duration::from_secs(5), || async {
        app.get("/health/ready").await.body["config"]["etcd"] == "watching"
    });
    assert!(watching.await.is_some());
    etcd.put("/config/limits/max_body_bytes", "1024").await;
    let pending = within(Duration::from_secs(2), || async {
        let ready = app.get("/health/ready").await.body;
        ready["config"]["pending_restart"][0]["key"] == "/config/limits/max_body_bytes"
    });
    assert!(
        pending.await.is_some(),
        "{}",
        app.get("/health/ready").await.body
    );
    let config = admin_config(&app).await;
    let row = knob(&config, "MAX_BODY_BYTES");
    assert_eq!(row["source"], "pending", "{row}");
    assert_eq!(row["value"], "65536");
    assert_eq!(row["pending_value"], "1024");
    assert_eq!(
        app.state.config.max_body_bytes, 65_536,
        "not applied half-way"
    );
}

/// `serve` (as the binary runs) on the embedded database, etcd read at start: the
/// database path filled in at start is not a change awaiting a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_on_the_embedded_database_nothing_awaits_a_restart() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    etcd.put("/config/limits/max_in_flight", "321").await;
    let mut vars = test_vars();
    vars.insert("ETCD_URL".into(), etcd.url.clone());
    let config = target_service::Config::from_map(&vars).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(target_service::serve(config, listener, stop.clone()));
    let ready = || async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.ok()?;
        let req = "GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        conn.write_all(req.as_bytes()).await.ok()?;
        let mut reply = String::new();
        conn.read_to_string(&mut reply).await.ok()?;
        let (_, body) = reply.split_once("\r\n\r\n")?;
        serde_json::from_str::<Value>(body).ok()
    };
    let watching = within(Duration::from_secs(10), || async {
        ready()
            .await
            .is_some_and(|b| b["config"]["etcd"] == "watching")
    });
    assert!(watching.await.is_some());
    let body = ready().await.unwrap();
    assert_eq!(
        body["config"]["pending_restart"],
        serde_json::json!([]),
        "{body}"
    );
    stop.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(15), server).await;
    stopped.expect("serve returns").unwrap().unwrap();
}

/// The `target-service` binary itself, run in a directory of its own (no `.env`)
/// with its log in a file; killed on drop.
struct Binary {
    child: std::process::Child,
    log: std::path::PathBuf,
    addr: std::net::SocketAddr,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Binary {
    fn start(etcd_url: &str) -> Binary {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bin-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("service.log");
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let file = std::fs::File::create(&log).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_target-service"));
        for var in [
            "RUST_LOG",
            "DATABASE_URL",
            "REDIS_URL",
            "RABBITMQ_URL",
            "ETCD_PREFIX",
        ] {
            command.env_remove(var);
        }
        let child = command
            .current_dir(&dir)
            .env("BIND_ADDR", addr.to_string())
            .env("ETCD_URL", etcd_url)
            .envs([("SEED_BOOKS", "20"), ("SEED_MEMBERS", "5")])
            .envs([("ARGON2_MEMORY_KIB", "64"), ("ARGON2_ITERATIONS", "1")])
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("the target-service binary starts");
        Binary { child, log, addr }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut conn = tokio::net::TcpStream::connect(self.addr).await.ok()?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        conn.write_all(req.as_bytes()).await.ok()?;
        let mut reply = String::new();
        conn.read_to_string(&mut reply).await.ok()?;
        Some(reply)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_refused_values_and_follows_the_log_level() {
    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    let service = Binary::start(&etcd.url);
    let up = within(Duration::from_secs(30), || async {
        service
            .get("/health/ready")
            .await
            .is_some_and(|r| r.contains("\"watching\""))
    });
    assert!(up.await.is_some(), "{}", service.log());
    etcd.put("/config/rate_limit/per_sec", "lots").await;
    let refused = within(Duration::from_secs(5), || async {
        let log = service.log();
        log.contains("refused a configuration value from etcd")
            && log.contains("/config/rate_limit/per_sec")
            && log.contains("\"lots\" is not a whole number")
    });
    assert!(refused.await.is_some(), "{}", service.log());
    assert!(!service.log().contains("DEBUG"), "info by default");
    etcd.put("/config/log/level", "debug").await;
    let debugging = within(Duration::from_secs(5), || async {
        service.get("/books/1").await;
        service.log().contains("DEBUG")
    });
    assert!(debugging.await.is_some(), "{}", service.log());
}

/// Values longer than a setting can need (255 bytes of text, 4 KiB of anything else)
/// are refused like any bad value: the last good one stays. Before, a 5,000-digit
/// rate was applied and a 300-byte cache prefix awaited a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_values_are_refused_and_the_last_good_one_stays() {
    let Some(etcd) = EtcdServer::start().await else {
        return;
    };
    etcd.put("/config/rate_limit/per_sec", "50").await;
    let app = app_on(&etcd).await;
    let watching = within(Duration::from_secs(5), || async {
        app.get("/health/ready").await.body["config"]["etcd"] == "watching"
    });
    assert!(watching.await.is_some());
    // A whole number all the same: 70 with 5,000 leading zeros.
    let rate = format!("{}70", "0".repeat(5000));
    etcd.put("/config/rate_limit/per_sec", &rate).await;
    etcd.put("/config/cache/prefix", &"p".repeat(300)).await;
    etcd.put("/config/cache/ttl_secs", "42").await;
    let applied = within(Duration::from_secs(2), || async {
        app.state.knobs.current().cache_ttl == Duration::from_secs(42)
    });
    assert!(applied.await.is_some());
    assert_eq!(app.state.knobs.current().rate_limit_per_sec, 50);
    let config = admin_config(&app).await;
    let prefix = knob(&config, "CACHE_PREFIX");
    assert_eq!(prefix["source"], "default", "{prefix}");
    assert!(prefix["pending_value"].is_null(), "{prefix}");
    assert_eq!(knob(&config, "RATE_LIMIT_PER_SEC")["value"], "50");
    // Within the limits, the same keys are taken.
    etcd.put("/config/cache/prefix", &"p".repeat(255)).await;
    let pending = within(Duration::from_secs(2), || async {
        knob(&admin_config(&app).await, "CACHE_PREFIX")["source"] == "pending"
    });
    assert!(pending.await.is_some());
}
