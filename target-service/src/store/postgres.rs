//! The PostgreSQL backend, safe behind PgBouncer in transaction mode (no cached statements).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use super::sql::{impl_sql_store, BOOK_COLS, LOAN_COLS};
use super::sql_support::{sql_support, SEED_CHUNK};
use super::{seed, SearchResult, SeedPlan, StoreError, StoreResult};
use crate::model::{Book, BookInput, Credentials, Loan, Member, OutboxEvent, Role};

/// How long a pooled connection may sit idle before it is checked on its way out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects through `url` (PgBouncer is fine) and migrates through `migrate_url`
    /// (a direct connection: sqlx's migration lock is a session advisory lock).
    pub async fn connect(
        url: &str,
        migrate_url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<PgStore> {
        let options = PgConnectOptions::from_str(url)?.statement_cache_capacity(0);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(acquire_timeout)
            // sqlx pings a connection each time it is taken from the pool, a round
            // trip through PgBouncer to PostgreSQL before every call (and it pings
            // again on the way back, which cannot be turned off). Only a connection
            // that sat idle a while can have gone stale (PgBouncer restarted): ping
            // those. A busy pool's connections come back within milliseconds.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        let migrate_options = PgConnectOptions::from_str(migrate_url)?.statement_cache_capacity(0);
        let migrate_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(migrate_options)
            .await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&migrate_pool)
            .await?;
        migrate_pool.close().await;
        Ok(PgStore { pool })
    }
}

/// Explicit seed ids leave the identity sequences behind; move them past the seed.
const AFTER_SEED: [&str; 2] = [
    "SELECT setval(pg_get_serial_sequence('books', 'id'), GREATEST((SELECT MAX(id) FROM books), 1))",
    "SELECT setval(pg_get_serial_sequence('members', 'id'), GREATEST((SELECT MAX(id) FROM members), 1))",
];

sql_support!(PgStore, sqlx::Postgres, AFTER_SEED, false);
impl_sql_store!(PgStore, sqlx::Postgres, "postgres");
