//! The SQL store, written once for both backends: a macro expands it per sqlx driver.
//!
//! Every statement stays in the SQLite/PostgreSQL common subset (`$N` placeholders,
//! `RETURNING`, `ON CONFLICT DO NOTHING`). Invariants hold under concurrency because
//! each write is a conditional UPDATE inside one transaction, and each transaction
//! begins with a write so SQLite takes its write lock up front (no snapshot upgrade).
//! Statement text built with `format!` (the column-list constants, `mark_sent`'s
//! placeholder list) is passed as `sqlx::AssertSqlSafe`: it never holds user data,
//! every value is bound.

pub(crate) const BOOK_COLS: &str = "id, isbn, title, author, year, copies_total, copies_available";
pub(crate) const LOAN_COLS: &str = "id, book_id, member_id, status, borrowed_at, returned_at";

/// The relay's claim: up to `$3` unsent rows whose lease (`claimed_until`) is
/// free at `$2`, lowest ids first, leased until `$1`. The claim conditions repeat
/// outside the subquery so a concurrent relay that loses the row lock re-checks
/// them and skips the row. On PostgreSQL (`skip_locked`) the subquery also skips
/// rows another relay has locked (claiming, or marking them sent): waiting on
/// them while holding our own locks deadlocked two instances' relays. SQLite
/// has one writer at a time. Its cost must not grow with the sent rows kept for
/// retention: the partial index `outbox_pending` holds only the unsent ones.
pub fn claim_outbox_sql(skip_locked: bool) -> String {
    let skip_locked = if skip_locked {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    format!(
        "UPDATE outbox SET claimed_until = $1 \
         WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) AND id IN ( \
           SELECT id FROM outbox WHERE sent_at IS NULL \
           AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3{skip_locked}) \
         RETURNING id, event_type, payload"
    )
}

/// Expands to `impl Store for $store` where `$store` has a `pool: sqlx::Pool<$db>`.
/// The expanding module must also invoke `sql_support!` (statement helpers, seeding).
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                $crate::store::PoolStats::new(
                    self.pool.size(),
                    self.pool.num_idle(),
                    self.pool.options().get_max_connections(),
                )
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::raw_sql("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn search_books(&self, pattern: Option<&str>, limit: i64, offset: i64, known_total: Option<i64>) -> StoreResult<SearchResult> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<SearchResult> = async {
                    // search_text: lower(title), chr(1), lower(author), kept by the migrations.
                    const FILTER: &str = " WHERE search_text LIKE $1 ESCAPE '\\'";
                    let (items, total) = match pattern {
                        Some(needle) => {
                            let like = $crate::store::like_pattern(needle);
                            let items = sql_query_as::<Book>(sqlx::AssertSqlSafe(format!(
                                "SELECT {BOOK_COLS} FROM books{FILTER} ORDER BY id LIMIT $2 OFFSET $3"
                            )))
                            .bind(&like)
                            .bind(limit)
                            .bind(offset)
                            .fetch_all(&mut *tx)
                            .await?;
                            let total = match known_total {
                                Some(n) => n,
                                None => {
                                    let n: (i64,) = sql_query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM books{FILTER}")))
                                        .bind(&like)
                                        .fetch_one(&mut *tx)
                                        .await?;
                                    n.0
                                }
                            };
                            (items, total)
                        }
                        None => {
                            let items = sql_query_as::<Book>(sqlx::AssertSqlSafe(format!(
                                "SELECT {BOOK_COLS} FROM books ORDER BY id LIMIT $1 OFFSET $2"
                            )))
                            .bind(limit)
                            .bind(offset)
                            .fetch_all(&mut *tx)
                            .await?;
                            let total = match known_total {
                                Some(n) => n,
                                None => {
                                    let n: (i64,) = sql_query_as("SELECT COUNT(*) FROM books").fetch_one(&mut *tx).await?;
                                    n.0
                                }
                            };
                            (items, total)
                        }
                    };
                    Ok(SearchResult { items, total })
                }
                .await;
                finish(tx, out).await
            }

            async fn get_book(&self, id: i64) -> StoreResult<Book> {
                fetch_optional_ints(&self.pool, &format!("SELECT {BOOK_COLS} FROM books WHERE id = $1"), &[id])
                    .await?
                    .ok_or(StoreError::NotFound)
            }

            async fn create_book(&self, b: &BookInput) -> StoreResult<Book> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<Book> = async {
                    sql_query_as::<Book>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO books (isbn, title, author, year, copies_total, copies_available) \
                         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {BOOK_COLS}"
                    )))
                    .bind(&b.isbn)
                    .bind(&b.title)
                    .bind(&b.author)
                    .bind(b.year)
                    .bind(b.copies)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::isbn_taken)
                }
                .await;
                finish(tx, out).await
            }

            async fn update_book(&self, id: i64, b: &BookInput) -> StoreResult<Book> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<Book> = async {
                    // SET expressions see the old row, so availability moves by the change in total.
                    let updated = sql_query_as::<Book>(sqlx::AssertSqlSafe(format!(
                        "UPDATE books SET isbn = $2, title = $3, author = $4, year = $5, \
                         copies_available = copies_available + ($6 - copies_total), copies_total = $6 \
                         WHERE id = $1 AND copies_available + ($6 - copies_total) >= 0 RETURNING {BOOK_COLS}"
                    )))
                    .bind(id)
                    .bind(&b.isbn)
                    .bind(&b.title)
                    .bind(&b.author)
                    .bind(b.year)
                    .bind(b.copies)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::isbn_taken)?;
                    match updated {
                        Some(book) => Ok(book),
                        None => {
                            self.get_book(id).await?;
                            Err(StoreError::CopiesOnLoan)
                        }
                    }
                }
                .await;
                finish(tx, out).await
            }

            async fn create_member(&self, email: &str, name: &str, hash: &str, role: Role) -> StoreResult<Member> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<Member> = async {
                    sql_query_as::<Member>(
                        "INSERT INTO members (email, name, password_hash, role) VALUES ($1, $2, $3, $4) \
                         RETURNING id, email, name",
                    )
                    .bind(email)
                    .bind(name)
                    .bind(hash)
                    .bind(role.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match e.as_database_error() {
                        Some(db) if db.is_unique_violation() => StoreError::Duplicate,
                        _ => e.into(),
                    })
                }
                .await;
                finish(tx, out).await
            }

            async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<Option<Credentials>> = async {
                    Ok(sql_query_as::<Credentials>(
                        "SELECT id, password_hash, role FROM members WHERE email = $1",
                    )
                    .bind(email)
                    .fetch_optional(&mut *tx)
                    .await?)
                }
                .await;
                finish(tx, out).await
            }

            async fn borrow(&self, member_id: i64, book_id: i64, key: Option<&str>, limit: i64) -> StoreResult<(Loan, bool)> {
                let mut tx = self.pool.begin().await?;
                // The member's row first: the write takes SQLite's lock up front, and on
                // PostgreSQL it queues a concurrent borrow with the same key behind this
                // one, which then finds this loan below and replays it.
                let counted = sql_query(
                    "UPDATE members SET active_loans = active_loans + 1 WHERE id = $1 AND active_loans < $2",
                )
                .bind(member_id)
                .bind(limit)
                .execute(&mut *tx)
                .await?;
                // The key is checked in this transaction, not in one of its own before it:
                // one transaction a borrow (the replay, rare, is rolled back).
                if let Some(key) = key {
                    let earlier = sql_query_as::<Loan>(sqlx::AssertSqlSafe(format!(
                        "SELECT {LOAN_COLS} FROM loans WHERE member_id = $1 AND idempotency_key = $2"
                    )))
                    .bind(member_id)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(loan) = earlier {
                        drop(tx);
                        return replay(loan, book_id);
                    }
                }
                if counted.rows_affected() == 0 {
                    return Err(StoreError::LoanLimit);
                }
                let taken = sql_query(
                    "UPDATE books SET copies_available = copies_available - 1 WHERE id = $1 AND copies_available > 0",
                )
                .bind(book_id)
                .execute(&mut *tx)
                .await?;
                if taken.rows_affected() == 0 {
                    let exists: Option<(i64,)> = sql_query_as("SELECT id FROM books WHERE id = $1")
                        .bind(book_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    return Err(if exists.is_some() { StoreError::NoCopies } else { StoreError::NotFound });
                }
                let inserted = sql_query_as::<Loan>(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO loans (book_id, member_id, status, borrowed_at, idempotency_key) \
                     VALUES ($1, $2, 'active', $3, $4) RETURNING {LOAN_COLS}"
                )))
                .bind(book_id)
                .bind(member_id)
                .bind($crate::clock::now_rfc3339())
                .bind(key)
                .fetch_one(&mut *tx)
                .await;
                let loan = match inserted {
                    Ok(loan) => loan,
                    Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                        // A concurrent request with the same key won; replay its loan.
                        drop(tx);
                        let key = key.unwrap_or_default();
                        let loan = self.loan_by_key(member_id, key).await?.ok_or(StoreError::Duplicate)?;
                        return replay(loan, book_id);
                    }
                    Err(e) => return Err(e.into()),
                };
                write_outbox(&mut tx, "loan.created", &loan).await?;
                tx.commit().await?;
                Ok((loan, true))
            }

            async fn return_loan(&self, member_id: i64, loan_id: i64) -> StoreResult<Loan> {
                let mut tx = self.pool.begin().await?;
                let returned = sql_query_as::<Loan>(sqlx::AssertSqlSafe(format!(
                    "UPDATE loans SET status = 'returned', returned_at = $3 \
                     WHERE id = $1 AND member_id = $2 AND status = 'active' RETURNING {LOAN_COLS}"
                )))
                .bind(loan_id)
                .bind(member_id)
                .bind($crate::clock::now_rfc3339())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(loan) = returned else {
                    let found: Option<(String,)> =
                        sql_query_as("SELECT status FROM loans WHERE id = $1 AND member_id = $2")
                            .bind(loan_id)
                            .bind(member_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Err(if found.is_some() { StoreError::AlreadyReturned } else { StoreError::NotFound });
                };
                sql_query("UPDATE members SET active_loans = active_loans - 1 WHERE id = $1 AND active_loans > 0")
                    .bind(member_id)
                    .execute(&mut *tx)
                    .await?;
                sql_query(
                    "UPDATE books SET copies_available = copies_available + 1 \
                     WHERE id = $1 AND copies_available < copies_total",
                )
                .bind(loan.book_id)
                .execute(&mut *tx)
                .await?;
                write_outbox(&mut tx, "loan.returned", &loan).await?;
                tx.commit().await?;
                Ok(loan)
            }

            async fn member_loans(&self, member_id: i64) -> StoreResult<Vec<Loan>> {
                let sql = format!(
                    "SELECT {LOAN_COLS} FROM loans WHERE member_id = $1 \
                     ORDER BY CASE WHEN status = 'active' THEN 0 ELSE 1 END, id DESC LIMIT 500"
                );
                fetch_all_ints(&self.pool, &sql, &[member_id]).await
            }

            async fn is_seeded(&self, plan: &SeedPlan) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<bool> = async {
                    let books: (i64,) = sql_query_as("SELECT COUNT(*) FROM books WHERE id <= $1")
                        .bind(plan.books)
                        .fetch_one(&mut *tx)
                        .await?;
                    let last = seed::librarian_email(seed::LIBRARIANS);
                    let librarian: Option<(i64,)> = sql_query_as("SELECT id FROM members WHERE email = $1")
                        .bind(last)
                        .fetch_optional(&mut *tx)
                        .await?;
                    Ok(books.0 >= plan.books && librarian.is_some())
                }
                .await;
                finish(tx, out).await
            }

            async fn seed(&self, plan: &SeedPlan, hash: &str) -> StoreResult<()> {
                self.seed_rows(plan, hash).await
            }

            async fn claim_outbox(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<OutboxEvent>> {
                // One statement, so its own transaction: each relay polls several
                // times a second, idle or not.
                let now = $crate::clock::unix_millis();
                let sql = $crate::store::claim_outbox_sql($backend == "postgres");
                let mut claimed: Vec<OutboxEvent> = fetch_all_ints(&self.pool, &sql, &[now + lease_ms, now, limit]).await?;
                // UPDATE ... RETURNING gives rows in no set order (and cannot
                // ORDER BY). Unsorted, a relay pass failing part way released
                // only the ids above the failed one, and lower unsent ids waited
                // out their lease (RabbitMQ outage, docs/RELIABILITY.md).
                claimed.sort_unstable_by_key(|e| e.id);
                Ok(claimed)
            }

            async fn release_outbox(&self, from: i64, to: i64) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<()> = async {
                    sql_query("UPDATE outbox SET claimed_until = NULL WHERE id >= $1 AND id <= $2 AND sent_at IS NULL")
                        .bind(from)
                        .bind(to)
                        .execute(&mut *tx)
                        .await?;
                    Ok(())
                }
                .await;
                finish(tx, out).await
            }

            async fn mark_sent(&self, ids: &[i64]) -> StoreResult<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
                let statement = format!("UPDATE outbox SET sent_at = $1 WHERE id IN ({})", list.join(", "));
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<()> = async {
                    let mut query = sql_query(sqlx::AssertSqlSafe(statement)).bind($crate::clock::now_rfc3339());
                    for id in ids {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *tx).await?;
                    Ok(())
                }
                .await;
                finish(tx, out).await
            }

            async fn prune_outbox(&self, sent_before: &str) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<u64> = async {
                    let done = sql_query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
                        .bind(sent_before)
                        .execute(&mut *tx)
                        .await?;
                    Ok(done.rows_affected())
                }
                .await;
                finish(tx, out).await
            }

            async fn outbox_pending(&self) -> StoreResult<i64> {
                let n: Option<(i64,)> = fetch_optional_ints(&self.pool, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL", &[]).await?;
                Ok(n.map_or(0, |n| n.0))
            }
        }

        /// The loan an idempotency key already made, if this request is the same one
        /// (the same book); a key reused for another book is refused, not replayed.
        fn replay(loan: Loan, book_id: i64) -> StoreResult<(Loan, bool)> {
            if loan.book_id == book_id {
                Ok((loan, false))
            } else {
                Err(StoreError::KeyReused)
            }
        }

        impl $store {
            async fn loan_by_key(&self, member_id: i64, key: &str) -> StoreResult<Option<Loan>> {
                let mut tx = self.pool.begin().await?;
                let out: StoreResult<Option<Loan>> = async {
                    Ok(sql_query_as::<Loan>(sqlx::AssertSqlSafe(format!(
                        "SELECT {LOAN_COLS} FROM loans WHERE member_id = $1 AND idempotency_key = $2"
                    )))
                    .bind(member_id)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?)
                }
                .await;
                finish(tx, out).await
            }
        }

    };
}

pub(crate) use impl_sql_store;
