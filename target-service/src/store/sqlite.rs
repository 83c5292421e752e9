//! The embedded backend: SQLite in WAL mode with a small pool and a busy timeout.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::sql::{impl_sql_store, BOOK_COLS, LOAN_COLS};
use super::sql_support::{sql_support, SEED_CHUNK};
use super::{seed, SearchResult, SeedPlan, StoreError, StoreResult};
use crate::model::{Book, BookInput, Credentials, Loan, Member, OutboxEvent, Role};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates. `url` is `sqlite://...` or a file path.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = Path::new(url.trim_start_matches("sqlite://")).parent() {
            if !url.starts_with("sqlite::memory") && !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(Path::new(url))
        }
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
        // SQLite has one writer at a time; more connections only add lock contention.
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.clamp(1, 8))
            .acquire_timeout(acquire_timeout.max(Duration::from_secs(30)))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

const AFTER_SEED: [&str; 0] = [];

sql_support!(SqliteStore, sqlx::Sqlite, AFTER_SEED, true);
impl_sql_store!(SqliteStore, sqlx::Sqlite, "sqlite");
