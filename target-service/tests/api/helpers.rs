//! `spawn_app()`: a fresh service per test (own SQLite file or own PostgreSQL database).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use target_service::{app, AppState, Config};
use tower::ServiceExt;

pub const PASSWORD: &str = "loadgen-password";

/// Runs the named test body on SQLite and (when configured) PostgreSQL.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app().await;
                super::$name(&app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(app) = $crate::helpers::spawn_pg_app().await else {
                    return;
                };
                super::$name(&app).await;
            }
        }
    };
}
pub(crate) use on_both;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    _db: Option<Arc<PgTestDb>>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Small seed and cheap argon2 so each test starts in milliseconds.
pub fn test_vars() -> HashMap<String, String> {
    [
        ("SEED_BOOKS", "60"),
        ("SEED_MEMBERS", "30"),
        ("ARGON2_MEMORY_KIB", "64"),
        ("ARGON2_ITERATIONS", "1"),
        ("TOKEN_SECRET", "test-secret"),
        ("DB_MAX_CONNECTIONS", "8"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_vars()).await
}

/// An app on embedded SQLite with the given variables (a private DB file unless set).
pub async fn spawn_app_with(mut vars: HashMap<String, String>) -> TestApp {
    if !vars.contains_key("DATABASE_URL") {
        let dir = std::env::temp_dir().join(format!("ts-test-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        vars.insert(
            "DATABASE_URL".into(),
            dir.join("test.db").to_string_lossy().into_owned(),
        );
    }
    build(vars, None).await
}

/// An app on its own fresh PostgreSQL database, or `None` (and a note) when not configured.
pub async fn spawn_pg_app() -> Option<TestApp> {
    spawn_pg_app_with(test_vars()).await
}

pub async fn spawn_pg_app_with(mut vars: HashMap<String, String>) -> Option<TestApp> {
    let Ok(admin) = std::env::var("LOADGEN_TEST_DATABASE_URL") else {
        eprintln!("skipped: LOADGEN_TEST_DATABASE_URL not set");
        return None;
    };
    let db = Arc::new(PgTestDb::create(&admin).await);
    vars.insert("DATABASE_URL".into(), db.url.clone());
    Some(build(vars, Some(db)).await)
}

/// An app from explicit variables, keeping `db` (if any) alive as long as the app.
pub async fn build(vars: HashMap<String, String>, db: Option<Arc<PgTestDb>>) -> TestApp {
    let config = Config::from_map(&vars).expect("test config");
    let state = AppState::connect(config).await.expect("app state");
    TestApp {
        router: app(state.clone()),
        state,
        _db: db,
    }
}

impl TestApp {
    /// The app's own PostgreSQL database (`None` on embedded SQLite).
    pub fn database_url(&self) -> Option<&str> {
        self._db.as_deref().map(|db| db.url.as_str())
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = match body {
            Some(body) => req
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn login(&self, email: &str) -> String {
        let r = self
            .request(
                Method::POST,
                "/auth/login",
                None,
                Some(serde_json::json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {:?}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    pub async fn librarian(&self) -> String {
        self.login("librarian1@library.test").await
    }

    /// A new book with `copies` copies; returns its id.
    pub async fn add_book(&self, copies: i64) -> i64 {
        let token = self.librarian().await;
        // ISBNs are unique: each test book gets its own.
        let isbn = format!("test-{:016x}", rand::random::<u64>());
        let body = serde_json::json!({"isbn": isbn, "title": "Test Book", "author": "Tester", "year": 2020, "copies": copies});
        let r = self
            .request(Method::POST, "/books", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }
}

/// A uniquely named database, dropped (forcibly) when the last handle goes.
pub struct PgTestDb {
    admin: String,
    name: String,
    pub url: String,
}

impl PgTestDb {
    pub async fn create(admin: &str) -> PgTestDb {
        use sqlx::Connection;
        let name = format!("ts_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        PgTestDb {
            admin: admin.to_string(),
            url: with_database(admin, &name),
            name,
        }
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside async context guarantees; use a private runtime on a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// `admin` with its database name replaced by `name` (query string kept).
pub fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}
