//! The shared application state: a `Clone` bundle of handles built once from `Config`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::auth::password::Passwords;
use crate::auth::token::TokenSigner;
use crate::cache::{BookCache, Cache, MemoryCache, RedisCache};
use crate::config::knobs::{Knobs, LiveKnobs};
use crate::config::{embedded_sqlite_path, Config};
use crate::events::{InProcessQueue, Publisher, RabbitBroker};
use crate::http::limits::InFlight;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::resilience::{Bulkhead, Guard};
use crate::store::{seed, PgStore, SeedPlan, SqliteStore, Store};

/// How long Redis must have answered nothing before its late calls count as failures.
const REDIS_SILENT_FOR: Duration = Duration::from_secs(1);

/// One guard per external dependency.
#[derive(Clone)]
pub struct Guards {
    pub db: Guard,
    pub cache: Guard,
    pub broker: Guard,
}

#[derive(Clone)]
pub struct AppState {
    /// The configuration the instance started with; the knobs that change while it
    /// runs are read from `knobs`.
    pub config: Arc<Config>,
    /// The live knobs (rate limit, breakers, retries, in-flight limit, cache TTLs...).
    pub knobs: Arc<Knobs>,
    pub store: Arc<dyn Store>,
    pub cache: BookCache,
    pub publisher: Arc<dyn Publisher>,
    pub tokens: TokenSigner,
    pub passwords: Passwords,
    pub guards: Guards,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    pub in_flight: InFlight,
}

impl AppState {
    /// Connects every dependency named in `config` (embedded ones otherwise), migrates and seeds.
    pub async fn connect(config: Config) -> anyhow::Result<AppState> {
        #[cfg(feature = "etcd")]
        let config = crate::config::etcd::load_at_start(config).await;
        let guards = Guards::new(&config);
        let store = connect_store(&config).await?;
        let cache: Arc<dyn Cache> = match &config.redis_url {
            Some(url) => Arc::new(RedisCache::new(url, guards.cache.clone()).context("REDIS_URL")?),
            None => Arc::new(MemoryCache::new()),
        };
        let publisher: Arc<dyn Publisher> = match &config.rabbitmq_url {
            Some(url) => Arc::new(RabbitBroker::new(
                url,
                &config.rabbitmq_exchange,
                &config.rabbitmq_queue,
                guards.broker.clone(),
            )),
            None => Arc::new(InProcessQueue::new(10_000)),
        };
        let state = AppState::from_parts(config, store, cache, publisher, guards)?;
        #[cfg(feature = "etcd")]
        crate::config::etcd::spawn_watch(&state.knobs);
        state.seed().await?;
        Ok(state)
    }

    /// Assembles a state from ready-made parts (tests inject fakes here).
    pub fn from_parts(
        config: Config,
        store: Arc<dyn Store>,
        cache: Arc<dyn Cache>,
        publisher: Arc<dyn Publisher>,
        guards: Guards,
    ) -> anyhow::Result<AppState> {
        let hash_slots = Bulkhead::new("hash", config.bulkhead_hash, config.hash_wait);
        let config = Arc::new(config);
        let knobs = Arc::new(Knobs::new(config.clone()));
        let state = AppState {
            cache: BookCache::new(
                cache,
                &config.cache_prefix,
                config.cache_ttl,
                config.search_cache_ttl,
                config.search_count_ttl,
            ),
            tokens: TokenSigner::new(&config.token_secret, config.token_ttl),
            passwords: Passwords::new(
                config.argon2_memory_kib,
                config.argon2_iterations,
                hash_slots,
                config.password_memo_size,
            )?,
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(RateLimiter::new(
                config.rate_limit_per_sec,
                config.rate_limit_burst,
                config.rate_limit_max_clients,
            )),
            in_flight: InFlight::new(config.max_in_flight),
            store,
            publisher,
            guards,
            config,
            knobs,
        };
        state.follow_live_knobs();
        Ok(state)
    }

    /// Hands every new snapshot of the live knobs to the parts that keep their own copy.
    fn follow_live_knobs(&self) {
        let (guards, limiter) = (self.guards.clone(), self.limiter.clone());
        let (in_flight, cache) = (self.in_flight.clone(), self.cache.clone());
        self.knobs.on_change(move |live: &LiveKnobs| {
            for guard in guards.all() {
                guard.breaker.set_config(live.breaker.clone());
            }
            limiter.set_rate(live.rate_limit_per_sec, live.rate_limit_burst);
            in_flight.set_max(live.max_in_flight);
            cache.set_ttls(live.cache_ttl, live.search_cache_ttl, live.search_count_ttl);
        });
    }

    /// Seeds an empty database. The password is hashed once and the hash shared by every
    /// seeded account: 10,010 argon2 hashes would take minutes at the default cost, and
    /// shared salts only matter for real users' passwords, which these are not.
    pub async fn seed(&self) -> anyhow::Result<()> {
        let plan = SeedPlan {
            books: self.config.seed_books,
            members: self.config.seed_members,
        };
        if self.store.is_seeded(&plan).await? {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let hash = self.passwords.hash(seed::SEED_PASSWORD).await?;
        self.store.seed(&plan, &hash).await?;
        tracing::info!(books = plan.books, members = plan.members, elapsed = ?started.elapsed(), "seeded");
        Ok(())
    }
}

impl Guards {
    pub fn new(config: &Config) -> Guards {
        let guard = |name, slots, timeout| {
            Guard::new(
                name,
                config.breaker.clone(),
                slots,
                config.bulkhead_wait,
                timeout,
            )
        };
        Guards {
            db: guard("database", config.bulkhead_db, config.db_timeout),
            // Redis's deadline is short (100 ms): on a saturated machine calls miss it
            // in the CPU's queue while Redis answers the rest, and opening the breaker
            // then sends every cached read to the database when it can least take them.
            cache: guard("redis", config.bulkhead_redis, config.redis_timeout)
                .excusing_late_calls(REDIS_SILENT_FOR),
            broker: guard("rabbitmq", 4, config.rabbitmq_timeout),
        }
    }

    pub fn all(&self) -> [&Guard; 3] {
        [&self.db, &self.cache, &self.broker]
    }
}

async fn connect_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url.clone();
    match url.as_deref() {
        Some(url) if url.starts_with("postgres") => {
            let migrate_url = config.database_migrate_url.as_deref().unwrap_or(url);
            let store = PgStore::connect(
                url,
                migrate_url,
                config.db_max_connections,
                config.db_timeout,
            )
            .await
            .context("connecting to PostgreSQL (DATABASE_URL)")?;
            Ok(Arc::new(store))
        }
        Some(url) => Ok(Arc::new(
            SqliteStore::connect(url, config.db_max_connections, config.db_timeout)
                .await
                .context("opening SQLite (DATABASE_URL)")?,
        )),
        None => {
            // AppState::connect without serve(): a temp file the OS cleans up eventually.
            let path = embedded_sqlite_path();
            tracing::info!(path = %path.display(), "using embedded SQLite");
            let url = path.to_string_lossy().into_owned();
            Ok(Arc::new(
                SqliteStore::connect(&url, config.db_max_connections, config.db_timeout).await?,
            ))
        }
    }
}
