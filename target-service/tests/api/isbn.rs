//! An ISBN names one book: a second book with a taken ISBN, created or edited, is a
//! 409; books stored twice before the rule are renamed `<isbn>#<id>` by the
//! migration (all but the first), which never fails on them.

use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::migrate::Migrator;

use crate::helpers::{build, on_both, spawn_app_with, test_vars, PgTestDb, TestApp};

/// The migration that makes ISBNs unique.
const UNIQUE_ISBN: i64 = 20261205000000;

async fn a_taken_isbn_is_a_409(app: &TestApp) {
    let token = app.librarian().await;
    let book =
        |isbn: &str| json!({"isbn": isbn, "title": "T", "author": "A", "year": 2000, "copies": 1});
    let post = |isbn: &'static str| {
        let token = token.clone();
        async move {
            app.request(Method::POST, "/books", Some(&token), Some(book(isbn)))
                .await
        }
    };
    let first = post("978-1-4028-9462-6").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let id = first.body["id"].as_i64().unwrap();
    let again = post("978-1-4028-9462-6").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(again.body["error"], "a book with this isbn already exists");
    // Seed book 7's ISBN.
    assert_eq!(post("9780000000007").await.status, StatusCode::CONFLICT);

    let put = |isbn: &'static str| {
        let token = token.clone();
        async move {
            let path = format!("/books/{id}");
            app.request(Method::PUT, &path, Some(&token), Some(book(isbn)))
                .await
        }
    };
    let taken = put("9780000000007").await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{:?}", taken.body);
    assert_eq!(app.get("/books/7").await.body["isbn"], "9780000000007");
    assert_eq!(
        put("978-1-4028-9462-6").await.status,
        StatusCode::OK,
        "its own"
    );
    assert_eq!(
        put("978-0-00-000000-9").await.status,
        StatusCode::OK,
        "a free one"
    );
    assert_eq!(
        post("978-1-4028-9462-6").await.status,
        StatusCode::CREATED,
        "freed"
    );
}
on_both!(a_taken_isbn_is_a_409);

/// The migrations before `UNIQUE_ISBN` from `dir`.
async fn migrations_before_unique(dir: &str) -> Migrator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut migrator = Migrator::new(path).await.expect("migrations");
    let before: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < UNIQUE_ISBN)
        .cloned()
        .collect();
    assert!(before.len() < migrator.migrations.len(), "{dir} has it");
    migrator.migrations = before.into();
    migrator
}

const DUPLICATES: &str =
    "INSERT INTO books (id, isbn, title, author, year, copies_total, copies_available) VALUES \
    (1001, 'dup', 'a', 'a', 2000, 1, 1), (1002, 'dup', 'b', 'b', 2000, 1, 1), \
    (1003, 'dup', 'c', 'c', 2000, 1, 1), (1004, 'solo', 'd', 'd', 2000, 1, 1), \
    (1005, 'dup#1003', 'e', 'e', 2000, 1, 1)";

/// Each book's ISBN after the service migrated a database holding `DUPLICATES`.
async fn renamed(app: &TestApp) {
    let isbn = |id: i64| async move { app.get(&format!("/books/{id}")).await.body["isbn"].clone() };
    assert_eq!(isbn(1001).await, "dup", "the first keeps it");
    assert_eq!(isbn(1002).await, "dup#1002");
    assert_eq!(isbn(1004).await, "solo");
    let (third, fifth) = (isbn(1003).await, isbn(1005).await);
    assert_ne!(
        third, fifth,
        "even a renamed copy meeting an ISBN stored as such"
    );
    assert_eq!(third, "dup#1003");
    assert_eq!(fifth, "dup#1003#1005");
    let token = app.librarian().await;
    let book = json!({"isbn": "dup", "title": "T", "author": "A", "year": 2000, "copies": 1});
    let r = app
        .request(Method::POST, "/books", Some(&token), Some(book))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_renames_existing_duplicates_on_sqlite() {
    use sqlx::sqlite::SqliteConnectOptions;
    let dir = std::env::temp_dir().join(format!("ts-isbn-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("test.db");
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let migrator = migrations_before_unique("migrations/sqlite").await;
    migrator.run(&pool).await.unwrap();
    sqlx::raw_sql(DUPLICATES).execute(&pool).await.unwrap();
    pool.close().await;
    let mut vars = test_vars();
    vars.insert("DATABASE_URL".into(), file.to_string_lossy().into_owned());
    renamed(&spawn_app_with(vars).await).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_renames_existing_duplicates_on_postgres() {
    let Ok(admin) = std::env::var("LOADGEN_TEST_DATABASE_URL") else {
        eprintln!("skipped: LOADGEN_TEST_DATABASE_URL not set");
        return;
    };
    let db = std::sync::Arc::new(PgTestDb::create(&admin).await);
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let migrator = migrations_before_unique("migrations/postgres").await;
    migrator.run(&pool).await.unwrap();
    sqlx::raw_sql(DUPLICATES).execute(&pool).await.unwrap();
    pool.close().await;
    let mut vars = test_vars();
    vars.insert("DATABASE_URL".into(), db.url.clone());
    renamed(&build(vars, Some(db)).await).await;
}
