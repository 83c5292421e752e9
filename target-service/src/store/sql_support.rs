//! The helpers the SQL store macro relies on: statement constructors, transaction
//! finishing, the outbox insert, and the bulk seed.

pub(crate) const SEED_CHUNK: usize = 500;

/// Expands, in a backend module, the free functions and seeding method `impl_sql_store!`
/// uses. `$persistent = false` sends unnamed statements: sqlx names prepared statements
/// even with its cache disabled, and named statements collide behind PgBouncer.
/// `$after_seed` holds backend-specific statements run once the seed is in.
macro_rules! sql_support {
    ($store:ty, $db:ty, $after_seed:expr, $persistent:expr) => {
        fn sql_query(sql: impl sqlx::SqlSafeStr) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
            sqlx::query(sql).persistent($persistent)
        }

        fn sql_query_as<O>(sql: impl sqlx::SqlSafeStr) -> sqlx::query::QueryAs<'static, $db, O, <$db as sqlx::Database>::Arguments>
        where
            O: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>,
        {
            sqlx::query_as(sql).persistent($persistent)
        }

        /// The rows of a statement whose values are all integers (`$N` placeholders), as
        /// one simple query outside any transaction (see `store::simple`).
        async fn fetch_all_ints<O>(pool: &sqlx::Pool<$db>, sql: &str, values: &[i64]) -> StoreResult<Vec<O>>
        where
            O: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>,
        {
            let sql = $crate::store::simple::inline_ints(sql, values);
            let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            rows.iter().map(|row| O::from_row(row).map_err(StoreError::from)).collect()
        }

        /// As `fetch_all_ints`, for at most one row.
        async fn fetch_optional_ints<O>(pool: &sqlx::Pool<$db>, sql: &str, values: &[i64]) -> StoreResult<Option<O>>
        where
            O: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>,
        {
            let sql = $crate::store::simple::inline_ints(sql, values);
            let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_optional(pool).await?;
            row.map(|row| O::from_row(&row).map_err(StoreError::from)).transpose()
        }

        /// A statement with bound values runs in a transaction, even a lone read: behind
        /// PgBouncer in transaction mode that pins one server connection across sqlx's
        /// separate prepare and execute round trips. (Reads whose values are all
        /// integers go as simple queries instead: `fetch_all_ints`.)
        async fn finish<T>(tx: sqlx::Transaction<'_, $db>, out: StoreResult<T>) -> StoreResult<T> {
            match out {
                Ok(v) => {
                    tx.commit().await?;
                    Ok(v)
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
            }
        }

        async fn write_outbox(tx: &mut sqlx::Transaction<'_, $db>, event_type: &str, loan: &Loan) -> StoreResult<()> {
            let payload = serde_json::json!({ "type": event_type, "loan": loan }).to_string();
            sql_query("INSERT INTO outbox (event_type, payload, created_at) VALUES ($1, $2, $3)")
                .bind(event_type)
                .bind(payload)
                .bind($crate::clock::now_rfc3339())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
        impl $store {
            async fn seed_rows(&self, plan: &SeedPlan, hash: &str) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let ids: Vec<i64> = (1..=plan.books).collect();
                for chunk in ids.chunks(SEED_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO books (id, isbn, title, author, year, copies_total, copies_available) ",
                    );
                    qb.push_values(chunk.iter().map(|&id| seed::seed_book(id)), |mut row, b| {
                        row.push_bind(b.id)
                            .push_bind(b.isbn)
                            .push_bind(b.title)
                            .push_bind(b.author)
                            .push_bind(b.year)
                            .push_bind(b.copies_total)
                            .push_bind(b.copies_available);
                    });
                    qb.push(" ON CONFLICT DO NOTHING");
                    qb.build().persistent($persistent).execute(&mut *tx).await?;
                }
                let accounts: Vec<(i64, String, String, &str)> = (1..=plan.members)
                    .map(|n| (n, seed::member_email(n), format!("Member {n}"), "member"))
                    .chain((1..=seed::LIBRARIANS).map(|n| {
                        (plan.librarian_id(n), seed::librarian_email(n), format!("Librarian {n}"), "librarian")
                    }))
                    .collect();
                for chunk in accounts.chunks(SEED_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO members (id, email, name, password_hash, role) ",
                    );
                    qb.push_values(chunk, |mut row, (id, email, name, role)| {
                        row.push_bind(*id).push_bind(email.clone()).push_bind(name.clone()).push_bind(hash.to_string()).push_bind(*role);
                    });
                    qb.push(" ON CONFLICT DO NOTHING");
                    qb.build().persistent($persistent).execute(&mut *tx).await?;
                }
                for stmt in $after_seed {
                    sql_query(stmt).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use sql_support;
