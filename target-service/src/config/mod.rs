//! Typed configuration: defaults, then etcd (optional, watched), then the environment
//! (and a `.env` file), parsed into one `Config`; the knobs that may change while the
//! service runs are published as [`knobs::Knobs`].
//!
//! - [`keys`]: every knob's etcd key, environment variable, live or restart-only, check.
//! - [`layers`]: the sources and their precedence.
//! - [`knobs`]: the live, typed values read per request, and what awaits a restart.
//! - `etcd` (feature `etcd`): reading the prefix at start and watching it.

pub mod keys;
pub mod knobs;
pub mod layers;

#[cfg(feature = "etcd")]
pub mod etcd;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::resilience::breaker::BreakerConfig;
pub use layers::{Layers, Source};

/// The etcd prefix read when `ETCD_PREFIX` is unset.
pub const DEFAULT_ETCD_PREFIX: &str = "/config/";

/// Everything the service reads from its environment. See `docs/SERVICE.md`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where `main` binds (`BIND_ADDR`).
    pub bind_addr: SocketAddr,
    /// `postgres://...` or `sqlite://...`; `None` means an embedded SQLite file in a temp dir.
    pub database_url: Option<String>,
    /// Direct (non-PgBouncer) URL used only for migrations (`DATABASE_MIGRATE_URL`).
    pub database_migrate_url: Option<String>,
    /// Connection pool size (`DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// `redis://...`; `None` means the in-process cache.
    pub redis_url: Option<String>,
    /// `amqp://...`; `None` means the in-process event queue.
    pub rabbitmq_url: Option<String>,
    /// Exchange the outbox relay publishes to (`RABBITMQ_EXCHANGE`).
    pub rabbitmq_exchange: String,
    /// Queue the notification consumer reads (`RABBITMQ_QUEUE`).
    pub rabbitmq_queue: String,
    /// Prefix of every cache key (`CACHE_PREFIX`), so tenants/tests never collide.
    pub cache_prefix: String,
    /// TTL of cached book reads (`CACHE_TTL_SECS`).
    pub cache_ttl: Duration,
    /// TTL of cached search pages (`SEARCH_CACHE_TTL_SECS`).
    pub search_cache_ttl: Duration,
    /// TTL of cached search totals, the COUNT over the table (`SEARCH_COUNT_TTL_SECS`).
    pub search_count_ttl: Duration,
    /// Active loans a member may hold (`LOAN_LIMIT`).
    pub loan_limit: i64,
    /// Shared secret signing bearer tokens (`TOKEN_SECRET`); random per process if unset.
    pub token_secret: String,
    /// Bearer token lifetime (`TOKEN_TTL_SECS`).
    pub token_ttl: Duration,
    /// Argon2 memory cost in KiB (`ARGON2_MEMORY_KIB`).
    pub argon2_memory_kib: u32,
    /// Argon2 iterations (`ARGON2_ITERATIONS`).
    pub argon2_iterations: u32,
    /// How long a login waits for a hashing slot before 503 (`HASH_WAIT_MS`).
    pub hash_wait: Duration,
    /// Verified (password, hash) pairs remembered to skip argon2 (`PASSWORD_MEMO_SIZE`, 0 = off).
    pub password_memo_size: usize,
    /// Seeded books (`SEED_BOOKS`).
    pub seed_books: i64,
    /// Seeded members (`SEED_MEMBERS`).
    pub seed_members: i64,
    /// Requests per second per client (`RATE_LIMIT_PER_SEC`); 0 disables.
    pub rate_limit_per_sec: u32,
    /// Burst size of the per-client bucket (`RATE_LIMIT_BURST`).
    pub rate_limit_burst: u32,
    /// Clients whose buckets are remembered (`RATE_LIMIT_MAX_CLIENTS`); the least
    /// recently seen are forgotten past it.
    pub rate_limit_max_clients: usize,
    /// Key rate limits by `X-Forwarded-For`/`X-Real-IP` (`TRUST_PROXY_HEADERS`).
    pub trust_proxy_headers: bool,
    /// In-flight requests before shedding with 503 (`MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// Largest accepted request body (`MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Longest accepted request target, path and query (`MAX_URI_BYTES`).
    pub max_uri_bytes: usize,
    /// How long a connection may take to send a whole request head, counted from its
    /// opening or the end of its previous response (`HEADER_READ_TIMEOUT_MS`).
    pub header_read_timeout: Duration,
    /// How long a request may take to send its whole body, read before the request
    /// counts in flight (`BODY_READ_TIMEOUT_MS`): 408 and the connection closed past it.
    pub body_read_timeout: Duration,
    /// Per-request deadline (`REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    /// Deadline of each database call (`DB_TIMEOUT_MS`).
    pub db_timeout: Duration,
    /// Deadline of each Redis call (`REDIS_TIMEOUT_MS`).
    pub redis_timeout: Duration,
    /// Deadline of each RabbitMQ publish+confirm (`RABBITMQ_TIMEOUT_MS`).
    pub rabbitmq_timeout: Duration,
    /// Concurrent calls per dependency (`BULKHEAD_DB`, `BULKHEAD_REDIS`, `BULKHEAD_HASH`).
    pub bulkhead_db: usize,
    pub bulkhead_redis: usize,
    pub bulkhead_hash: usize,
    /// How long a call waits for a bulkhead slot (`BULKHEAD_WAIT_MS`).
    pub bulkhead_wait: Duration,
    /// Circuit breaker settings shared by all dependencies (`BREAKER_*`).
    pub breaker: BreakerConfig,
    /// Attempts for idempotent reads (`RETRY_ATTEMPTS`), base backoff (`RETRY_BASE_MS`).
    pub retry_attempts: u32,
    pub retry_base: Duration,
    /// How often the outbox relay polls (`OUTBOX_POLL_MS`).
    pub outbox_poll: Duration,
    /// How long sent outbox rows are kept (`OUTBOX_RETENTION_SECS`).
    pub outbox_retention: Duration,
    /// Deadline to drain in-flight requests on shutdown (`SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// Enables real e-mail sending from the notification consumer (`SENDGRID_API_KEY`).
    pub sendgrid_api_key: Option<String>,
    /// The log filter (`RUST_LOG`, default `info`); the binary applies it.
    pub log_level: String,
    /// etcd endpoint(s) to read and watch knobs from (`ETCD_URL`, comma-separated).
    pub etcd_url: Option<String>,
    /// Where the knobs live in etcd (`ETCD_PREFIX`, default `/config/`; ends in `/`).
    pub etcd_prefix: String,
    /// The sources this configuration was built from.
    pub layers: Layers,
}

impl Config {
    /// Reads the process environment, falling back to `./.env`, then to defaults.
    pub fn from_env() -> anyhow::Result<Config> {
        let mut vars = match std::fs::read_to_string(".env") {
            Ok(text) => parse_dotenv(&text),
            Err(_) => HashMap::new(),
        };
        vars.extend(std::env::vars());
        Config::from_map(&vars)
    }

    /// [`Config::from_env`], then, with `ETCD_URL` (feature `etcd`), etcd's values
    /// under the environment's: what the binary starts with.
    pub async fn load() -> anyhow::Result<Config> {
        let config = Config::from_env()?;
        #[cfg(feature = "etcd")]
        let config = etcd::load_at_start(config).await;
        Ok(config)
    }

    /// Builds a config from explicit key/values (tests use this); missing keys get defaults.
    pub fn from_map(vars: &HashMap<String, String>) -> anyhow::Result<Config> {
        Config::from_layers(Layers::from_env(vars.clone()))
    }

    /// Builds a config from its sources: etcd's values under the environment's.
    pub fn from_layers(layers: Layers) -> anyhow::Result<Config> {
        let vars = layers.merged();
        let env = Env(&vars);
        let etcd_url = env.opt("ETCD_URL");
        if etcd_url.is_some() && !cfg!(feature = "etcd") {
            bail!(
                "ETCD_URL is set, but this binary was built without etcd support: \
                 rebuild with `cargo build --release -p target-service --features etcd` \
                 (needs protoc: apt-get install protobuf-compiler), or unset ETCD_URL"
            );
        }
        let mut etcd_prefix = env.string("ETCD_PREFIX", DEFAULT_ETCD_PREFIX);
        if !etcd_prefix.ends_with('/') {
            etcd_prefix.push('/');
        }
        let rate_limit_per_sec = env.parse("RATE_LIMIT_PER_SEC", 20_000u32)?;
        Ok(Config {
            bind_addr: env.parse("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            database_url: env.opt("DATABASE_URL"),
            database_migrate_url: env.opt("DATABASE_MIGRATE_URL"),
            db_max_connections: env.parse("DB_MAX_CONNECTIONS", 10u32)?,
            redis_url: env.opt("REDIS_URL"),
            rabbitmq_url: env.opt("RABBITMQ_URL"),
            rabbitmq_exchange: env.string("RABBITMQ_EXCHANGE", "library.events"),
            rabbitmq_queue: env.string("RABBITMQ_QUEUE", "library.notifications"),
            cache_prefix: env.string("CACHE_PREFIX", "library:"),
            cache_ttl: Duration::from_secs(env.parse("CACHE_TTL_SECS", 300u64)?),
            search_cache_ttl: Duration::from_secs(env.parse("SEARCH_CACHE_TTL_SECS", 5u64)?),
            search_count_ttl: Duration::from_secs(env.parse("SEARCH_COUNT_TTL_SECS", 60u64)?),
            loan_limit: env.parse("LOAN_LIMIT", 5i64)?,
            token_secret: env.opt("TOKEN_SECRET").unwrap_or_else(random_secret),
            token_ttl: Duration::from_secs(env.parse("TOKEN_TTL_SECS", 86_400u64)?),
            argon2_memory_kib: env.parse("ARGON2_MEMORY_KIB", 19_456u32)?,
            argon2_iterations: env.parse("ARGON2_ITERATIONS", 2u32)?,
            hash_wait: env.millis("HASH_WAIT_MS", 10_000)?,
            password_memo_size: env.parse("PASSWORD_MEMO_SIZE", 100_000usize)?,
            seed_books: env.parse("SEED_BOOKS", 10_000i64)?,
            seed_members: env.parse("SEED_MEMBERS", 10_000i64)?,
            rate_limit_per_sec,
            rate_limit_burst: env.parse("RATE_LIMIT_BURST", rate_limit_per_sec.max(1))?,
            rate_limit_max_clients: env.parse("RATE_LIMIT_MAX_CLIENTS", 100_000usize)?,
            trust_proxy_headers: env.parse("TRUST_PROXY_HEADERS", false)?,
            max_in_flight: env.parse("MAX_IN_FLIGHT", 2048usize)?,
            max_body_bytes: env.parse("MAX_BODY_BYTES", 64 * 1024usize)?,
            max_uri_bytes: env.parse("MAX_URI_BYTES", 8 * 1024usize)?,
            header_read_timeout: env.millis("HEADER_READ_TIMEOUT_MS", 10_000)?,
            body_read_timeout: env.millis("BODY_READ_TIMEOUT_MS", 10_000)?,
            request_timeout: env.millis("REQUEST_TIMEOUT_MS", 10_000)?,
            db_timeout: env.millis("DB_TIMEOUT_MS", 5_000)?,
            redis_timeout: env.millis("REDIS_TIMEOUT_MS", 100)?,
            rabbitmq_timeout: env.millis("RABBITMQ_TIMEOUT_MS", 5_000)?,
            bulkhead_db: env.parse("BULKHEAD_DB", 64usize)?,
            bulkhead_redis: env.parse("BULKHEAD_REDIS", 256usize)?,
            bulkhead_hash: env.parse("BULKHEAD_HASH", default_hash_slots())?,
            bulkhead_wait: env.millis("BULKHEAD_WAIT_MS", 2_000)?,
            breaker: BreakerConfig {
                failure_threshold: env.parse("BREAKER_FAILURE_THRESHOLD", 5u32)?,
                open_for: env.millis("BREAKER_OPEN_MS", 5_000)?,
                half_open_max_calls: env.parse("BREAKER_HALF_OPEN_CALLS", 1u32)?,
            },
            retry_attempts: env.parse("RETRY_ATTEMPTS", 3u32)?,
            retry_base: env.millis("RETRY_BASE_MS", 20)?,
            outbox_poll: env.millis("OUTBOX_POLL_MS", 200)?,
            outbox_retention: Duration::from_secs(env.parse("OUTBOX_RETENTION_SECS", 3600u64)?),
            shutdown_grace: Duration::from_secs(env.parse("SHUTDOWN_GRACE_SECS", 10u64)?),
            sendgrid_api_key: env.opt("SENDGRID_API_KEY"),
            log_level: env.string("RUST_LOG", "info"),
            etcd_url,
            etcd_prefix,
            layers,
        })
    }

    /// Defaults only: embedded SQLite, in-process cache and queue.
    pub fn embedded() -> Config {
        Config::from_map(&HashMap::new()).expect("defaults parse")
    }
}

/// Parses `KEY=VALUE` lines; `#` comments, blank lines, `export ` and quotes are handled.
pub fn parse_dotenv(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_string(), unquoted.to_string()))
        })
        .collect()
}

/// Where the embedded SQLite database lives when `DATABASE_URL` is unset.
pub fn embedded_sqlite_path() -> PathBuf {
    let unique = format!(
        "target-service-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    );
    std::env::temp_dir().join(unique).join("library.db")
}

fn default_hash_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    fn opt(&self, key: &str) -> Option<String> {
        self.0
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.opt(key).unwrap_or_else(|| default.to_string())
    }

    fn parse<T: FromStr>(&self, key: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.opt(key) {
            None => Ok(default),
            Some(raw) => match raw.parse() {
                Ok(v) => Ok(v),
                Err(e) => bail!("{key}={raw:?} is invalid: {e}"),
            },
        }
    }

    fn millis(&self, key: &str, default: u64) -> anyhow::Result<Duration> {
        self.parse(key, default)
            .map(Duration::from_millis)
            .with_context(|| format!("{key} is in milliseconds"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_parsed() {
        let vars = parse_dotenv("# c\nA=1\nexport B = \"two\"\n\nC='3'\nbroken\n");
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two");
        assert_eq!(vars["C"], "3");
        assert_eq!(vars.len(), 3);
    }

    #[test]
    fn defaults_and_bad_values() {
        let cfg = Config::embedded();
        assert_eq!(cfg.loan_limit, 5);
        assert_eq!(cfg.max_body_bytes, 65_536);
        assert_eq!(cfg.max_uri_bytes, 8_192);
        assert_eq!(cfg.header_read_timeout, Duration::from_secs(10));
        assert_eq!(cfg.body_read_timeout, Duration::from_secs(10));
        let bad = HashMap::from([("LOAN_LIMIT".to_string(), "x".to_string())]);
        assert!(Config::from_map(&bad).is_err());
    }
}
