//! Persistence behind a trait, so handlers never know which database they talk to.

mod error;
mod postgres;
pub mod seed;
mod simple;
mod sql;
mod sql_support;
mod sqlite;

use async_trait::async_trait;

use crate::model::{Book, BookInput, Credentials, Loan, Member, OutboxEvent, Role};
pub use error::StoreError;
pub use postgres::PgStore;
pub use seed::SeedPlan;
pub use sql::claim_outbox_sql;
pub use sqlite::SqliteStore;

pub type StoreResult<T> = Result<T, StoreError>;

/// The connection pool's occupancy at one instant, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections checked out by a request or task.
    pub in_use: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The configured ceiling (`DB_MAX_CONNECTIONS`, after the backend's clamp).
    pub max: u32,
}

impl PoolStats {
    /// From sqlx's two separately read counts (`size` includes the idle ones); a
    /// connection changing hands between the reads can make `idle` exceed `size`.
    pub fn new(size: u32, idle: usize, max: u32) -> PoolStats {
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        PoolStats {
            in_use: size - idle,
            idle,
            max,
        }
    }
}

/// A page of search results and the total number of matches.
pub struct SearchResult {
    pub items: Vec<Book>,
    pub total: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// The connection pool's occupancy (cheap: no I/O, no lock held).
    fn pool_stats(&self) -> PoolStats;
    async fn ping(&self) -> StoreResult<()>;
    /// `pattern` is a lower-case substring (not yet a LIKE pattern). With
    /// `known_total` (cached by the caller) the COUNT over the table is skipped.
    async fn search_books(
        &self,
        pattern: Option<&str>,
        limit: i64,
        offset: i64,
        known_total: Option<i64>,
    ) -> StoreResult<SearchResult>;
    async fn get_book(&self, id: i64) -> StoreResult<Book>;
    async fn create_book(&self, input: &BookInput) -> StoreResult<Book>;
    async fn update_book(&self, id: i64, input: &BookInput) -> StoreResult<Book>;
    async fn create_member(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<Member>;
    async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>>;
    /// Borrows a copy; `Ok((loan, false))` when the idempotency key replayed an earlier loan.
    async fn borrow(
        &self,
        member_id: i64,
        book_id: i64,
        key: Option<&str>,
        limit: i64,
    ) -> StoreResult<(Loan, bool)>;
    async fn return_loan(&self, member_id: i64, loan_id: i64) -> StoreResult<Loan>;
    async fn member_loans(&self, member_id: i64) -> StoreResult<Vec<Loan>>;
    /// Whether the deterministic seed is already present.
    async fn is_seeded(&self, plan: &SeedPlan) -> StoreResult<bool>;
    /// Inserts the seed; idempotent (existing rows are left alone).
    async fn seed(&self, plan: &SeedPlan, password_hash: &str) -> StoreResult<()>;
    /// Leases up to `limit` unsent outbox rows for `lease_ms` so other relays skip
    /// them; returns them in id order (the order events leave in).
    async fn claim_outbox(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<OutboxEvent>>;
    /// Marks these published events sent, in one statement (no-op when empty).
    async fn mark_sent(&self, ids: &[i64]) -> StoreResult<()>;
    /// Gives up the lease of the unsent rows with ids in `from..=to` (a pass that
    /// claimed them failed to publish), so the next pass retries them at once.
    async fn release_outbox(&self, from: i64, to: i64) -> StoreResult<()>;
    /// Deletes events sent before `sent_before` (RFC 3339; such strings sort by time).
    async fn prune_outbox(&self, sent_before: &str) -> StoreResult<u64>;
    async fn outbox_pending(&self) -> StoreResult<i64>;
}

/// Escapes LIKE metacharacters so user text only ever matches literally.
pub fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::PoolStats;

    #[test]
    fn pool_stats_never_count_a_connection_twice() {
        let s = PoolStats::new(5, 2, 8);
        assert_eq!((s.in_use, s.idle, s.max), (3, 2, 8));
        // idle read after a connection was returned and another closed
        let s = PoolStats::new(3, 4, 8);
        assert_eq!((s.in_use, s.idle), (0, 3));
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(super::like_pattern("A_b%"), "%a\\_b\\%%");
    }
}
