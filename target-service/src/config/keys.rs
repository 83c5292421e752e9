//! The key list: each knob's etcd key (under the prefix), its environment variable,
//! whether a running instance applies it live or only at its next start, the check a
//! value from etcd must pass, and how its effective value is shown.

use std::net::SocketAddr;

use serde::Serialize;

use super::Config;

/// When a running instance takes a new value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reload {
    /// Applied within a second of the change, on every instance watching.
    Live,
    /// Needs a restart (pools, listeners, the seed...): reported as pending until then.
    Restart,
}

/// What a value must look like.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A whole number in `min..=max`.
    Count { min: u64, max: u64 },
    /// A signed whole number in `min..=max`.
    Signed { min: i64, max: i64 },
    /// `true` or `false`.
    Bool,
    /// `host:port`.
    Address,
    /// Non-empty text without control characters.
    Text,
    /// A URL with one of these schemes (or, for `sqlite`, a file path).
    Url(&'static [&'static str]),
    /// Text never shown back (`/admin/config` says only whether it is set).
    Secret,
    /// A tracing `EnvFilter` directive, e.g. `info` or `info,target_service=debug`.
    LogFilter,
}

/// One knob.
#[derive(Debug)]
pub struct Key {
    /// The etcd key below the prefix, e.g. `rate_limit/per_sec`.
    pub path: &'static str,
    /// The environment variable, e.g. `RATE_LIMIT_PER_SEC`.
    pub env: &'static str,
    pub reload: Reload,
    pub kind: Kind,
    /// The effective value as the running configuration holds it, in the key's unit.
    pub show: fn(&Config) -> String,
}

const fn count(min: u64, max: u64) -> Kind {
    Kind::Count { min, max }
}

/// The longest text setting (a cache prefix, an exchange or queue name) from etcd.
pub const MAX_TEXT_BYTES: usize = 255;
/// The longest value of any other setting from etcd.
pub const MAX_VALUE_BYTES: usize = 4096;
/// How much of a refused value a log line shows.
const LOGGED_CHARS: usize = 80;

/// Up to a day, in milliseconds or seconds: generous, yet no overflow downstream.
const MS: Kind = count(1, 86_400_000);
const SECS: Kind = count(1, 86_400 * 30);
const DB_URL: Kind = Kind::Url(&["postgres", "postgresql", "sqlite"]);

macro_rules! key {
    ($path:literal, $env:literal, $reload:ident, $kind:expr, |$c:ident| $show:expr) => {
        Key {
            path: $path,
            env: $env,
            reload: Reload::$reload,
            kind: $kind,
            show: |$c: &Config| $show,
        }
    };
}

fn ms(d: std::time::Duration) -> String {
    d.as_millis().to_string()
}

fn secs(d: std::time::Duration) -> String {
    d.as_secs().to_string()
}

/// Every knob, in the order `/admin/config` and docs/SERVICE.md list them.
#[rustfmt::skip]
pub static KEYS: &[Key] = &[
    key!("rate_limit/per_sec", "RATE_LIMIT_PER_SEC", Live, count(0, 10_000_000), |c| c.rate_limit_per_sec.to_string()),
    key!("rate_limit/burst", "RATE_LIMIT_BURST", Live, count(1, 10_000_000), |c| c.rate_limit_burst.to_string()),
    key!("limits/max_in_flight", "MAX_IN_FLIGHT", Live, count(1, 1_000_000), |c| c.max_in_flight.to_string()),
    key!("circuit_breakers/failure_threshold", "BREAKER_FAILURE_THRESHOLD", Live, count(1, 1_000_000), |c| c.breaker.failure_threshold.to_string()),
    key!("circuit_breakers/open_ms", "BREAKER_OPEN_MS", Live, MS, |c| ms(c.breaker.open_for)),
    key!("circuit_breakers/half_open_calls", "BREAKER_HALF_OPEN_CALLS", Live, count(1, 10_000), |c| c.breaker.half_open_max_calls.to_string()),
    key!("retry/attempts", "RETRY_ATTEMPTS", Live, count(1, 10), |c| c.retry_attempts.to_string()),
    key!("retry/base_ms", "RETRY_BASE_MS", Live, count(0, 60_000), |c| ms(c.retry_base)),
    key!("cache/ttl_secs", "CACHE_TTL_SECS", Live, SECS, |c| secs(c.cache_ttl)),
    key!("cache/search_ttl_secs", "SEARCH_CACHE_TTL_SECS", Live, SECS, |c| secs(c.search_cache_ttl)),
    key!("cache/search_count_ttl_secs", "SEARCH_COUNT_TTL_SECS", Live, SECS, |c| secs(c.search_count_ttl)),
    key!("log/level", "RUST_LOG", Live, Kind::LogFilter, |c| c.log_level.clone()),
    key!("server/bind_addr", "BIND_ADDR", Restart, Kind::Address, |c| c.bind_addr.to_string()),
    key!("database/url", "DATABASE_URL", Restart, DB_URL, |c| c.database_url.as_deref().map(redact_url).unwrap_or_default()),
    key!("database/migrate_url", "DATABASE_MIGRATE_URL", Restart, DB_URL, |c| c.database_migrate_url.as_deref().map(redact_url).unwrap_or_default()),
    key!("database/max_connections", "DB_MAX_CONNECTIONS", Restart, count(1, 10_000), |c| c.db_max_connections.to_string()),
    key!("database/timeout_ms", "DB_TIMEOUT_MS", Restart, MS, |c| ms(c.db_timeout)),
    key!("redis/url", "REDIS_URL", Restart, Kind::Url(&["redis", "rediss"]), |c| c.redis_url.as_deref().map(redact_url).unwrap_or_default()),
    key!("redis/timeout_ms", "REDIS_TIMEOUT_MS", Restart, MS, |c| ms(c.redis_timeout)),
    key!("cache/prefix", "CACHE_PREFIX", Restart, Kind::Text, |c| c.cache_prefix.clone()),
    key!("rabbitmq/url", "RABBITMQ_URL", Restart, Kind::Url(&["amqp", "amqps"]), |c| c.rabbitmq_url.as_deref().map(redact_url).unwrap_or_default()),
    key!("rabbitmq/exchange", "RABBITMQ_EXCHANGE", Restart, Kind::Text, |c| c.rabbitmq_exchange.clone()),
    key!("rabbitmq/queue", "RABBITMQ_QUEUE", Restart, Kind::Text, |c| c.rabbitmq_queue.clone()),
    key!("rabbitmq/timeout_ms", "RABBITMQ_TIMEOUT_MS", Restart, MS, |c| ms(c.rabbitmq_timeout)),
    key!("outbox/poll_ms", "OUTBOX_POLL_MS", Restart, MS, |c| ms(c.outbox_poll)),
    key!("outbox/retention_secs", "OUTBOX_RETENTION_SECS", Restart, SECS, |c| secs(c.outbox_retention)),
    key!("notifications/sendgrid_api_key", "SENDGRID_API_KEY", Restart, Kind::Secret, |c| hidden(c.sendgrid_api_key.is_some())),
    key!("loans/limit", "LOAN_LIMIT", Restart, Kind::Signed { min: 0, max: 1_000_000 }, |c| c.loan_limit.to_string()),
    key!("auth/token_secret", "TOKEN_SECRET", Restart, Kind::Secret, |_c| hidden(true)),
    key!("auth/token_ttl_secs", "TOKEN_TTL_SECS", Restart, SECS, |c| secs(c.token_ttl)),
    key!("auth/argon2_memory_kib", "ARGON2_MEMORY_KIB", Restart, count(8, 4_194_304), |c| c.argon2_memory_kib.to_string()),
    key!("auth/argon2_iterations", "ARGON2_ITERATIONS", Restart, count(1, 100), |c| c.argon2_iterations.to_string()),
    key!("auth/password_memo_size", "PASSWORD_MEMO_SIZE", Restart, count(0, 100_000_000), |c| c.password_memo_size.to_string()),
    key!("auth/hash_wait_ms", "HASH_WAIT_MS", Restart, MS, |c| ms(c.hash_wait)),
    key!("seed/books", "SEED_BOOKS", Restart, Kind::Signed { min: 0, max: 100_000_000 }, |c| c.seed_books.to_string()),
    key!("seed/members", "SEED_MEMBERS", Restart, Kind::Signed { min: 0, max: 100_000_000 }, |c| c.seed_members.to_string()),
    key!("rate_limit/max_clients", "RATE_LIMIT_MAX_CLIENTS", Restart, count(1, 100_000_000), |c| c.rate_limit_max_clients.to_string()),
    key!("rate_limit/trust_proxy_headers", "TRUST_PROXY_HEADERS", Restart, Kind::Bool, |c| c.trust_proxy_headers.to_string()),
    key!("limits/max_body_bytes", "MAX_BODY_BYTES", Restart, count(1, 1 << 30), |c| c.max_body_bytes.to_string()),
    key!("limits/max_uri_bytes", "MAX_URI_BYTES", Restart, count(1, 65_536), |c| c.max_uri_bytes.to_string()),
    key!("limits/header_read_timeout_ms", "HEADER_READ_TIMEOUT_MS", Restart, MS, |c| ms(c.header_read_timeout)),
    key!("limits/body_read_timeout_ms", "BODY_READ_TIMEOUT_MS", Restart, MS, |c| ms(c.body_read_timeout)),
    key!("limits/request_timeout_ms", "REQUEST_TIMEOUT_MS", Restart, MS, |c| ms(c.request_timeout)),
    key!("bulkheads/database", "BULKHEAD_DB", Restart, count(1, 100_000), |c| c.bulkhead_db.to_string()),
    key!("bulkheads/redis", "BULKHEAD_REDIS", Restart, count(1, 100_000), |c| c.bulkhead_redis.to_string()),
    key!("bulkheads/hash", "BULKHEAD_HASH", Restart, count(1, 10_000), |c| c.bulkhead_hash.to_string()),
    key!("bulkheads/wait_ms", "BULKHEAD_WAIT_MS", Restart, MS, |c| ms(c.bulkhead_wait)),
    key!("shutdown/grace_secs", "SHUTDOWN_GRACE_SECS", Restart, SECS, |c| secs(c.shutdown_grace)),
];

/// The knob behind an etcd key below the prefix (`rate_limit/per_sec`).
pub fn by_path(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.path == path)
}

/// The knob read from an environment variable.
pub fn by_env(env: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.env == env)
}

fn hidden(set: bool) -> String {
    if set { "(hidden)" } else { "" }.to_string()
}

/// Query parameters that carry a password (libpq's `password` and `sslpassword`).
const SECRET_PARAMS: [&str; 2] = ["password", "sslpassword"];

/// `scheme://user:secret@host/...?password=secret` shown as
/// `scheme://user:***@host/...?password=***`.
pub fn redact_url(url: &str) -> String {
    let masked = redact_userinfo(url);
    match masked.split_once('?') {
        Some((base, query)) => format!("{base}?{}", redact_query(query)),
        None => masked,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{masked}@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

/// `a=1&password=x` as `a=1&password=***`, the names compared regardless of case.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.iter().any(|s| name.eq_ignore_ascii_case(s)) => {
                format!("{name}=***")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Key {
    /// `Ok` when `raw` (already trimmed) is an acceptable value, else why not.
    pub fn check(&self, raw: &str) -> Result<(), String> {
        if raw.is_empty() {
            return Err("empty".into());
        }
        let max = self.max_bytes();
        if raw.len() > max {
            return Err(format!(
                "{} bytes long, over this setting's limit of {max} bytes",
                raw.len()
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err("contains a control character".into());
        }
        match self.kind {
            Kind::Count { min, max } => {
                let n: u64 = raw
                    .parse()
                    .map_err(|_| format!("{raw:?} is not a whole number >= 0"))?;
                in_range(n, min, max)
            }
            Kind::Signed { min, max } => {
                let n: i64 = raw
                    .parse()
                    .map_err(|_| format!("{raw:?} is not a whole number"))?;
                in_range(n, min, max)
            }
            Kind::Bool => raw
                .parse::<bool>()
                .map(drop)
                .map_err(|_| format!("{raw:?} is neither true nor false")),
            Kind::Address => raw
                .parse::<SocketAddr>()
                .map(drop)
                .map_err(|e| format!("{raw:?} is not host:port ({e})")),
            Kind::Text | Kind::Secret => Ok(()),
            Kind::Url(schemes) => check_url(raw, schemes),
            Kind::LogFilter => tracing_subscriber::EnvFilter::try_new(raw)
                .map(drop)
                .map_err(|e| format!("not a log filter: {e}")),
        }
    }

    /// The longest value accepted from etcd: names (prefixes, exchanges, queues) are
    /// short; URLs, secrets and log filters get more room, never without a bound.
    pub fn max_bytes(&self) -> usize {
        match self.kind {
            Kind::Text => MAX_TEXT_BYTES,
            _ => MAX_VALUE_BYTES,
        }
    }

    /// `value` as a log line may show it: secrets hidden, over-long values cut short.
    pub fn loggable(&self, value: &str) -> String {
        if self.is_secret() {
            return "(hidden)".into();
        }
        match value.char_indices().nth(LOGGED_CHARS) {
            Some((cut, _)) => format!("{}... ({} bytes)", &value[..cut], value.len()),
            None => value.to_string(),
        }
    }

    /// Whether `/admin/config` must never show the raw value.
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::Secret)
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(n: T, min: T, max: T) -> Result<(), String> {
    if n < min || n > max {
        Err(format!("{n} is outside {min}..={max}"))
    } else {
        Ok(())
    }
}

fn check_url(raw: &str, schemes: &[&str]) -> Result<(), String> {
    match raw.split_once("://") {
        Some((scheme, rest)) if schemes.contains(&scheme) && !rest.is_empty() => Ok(()),
        Some((scheme, _)) => Err(format!(
            "scheme {scheme:?} is not one of {}",
            schemes.join(", ")
        )),
        // SQLite also takes a plain file path.
        None if schemes.contains(&"sqlite") => Ok(()),
        None => Err(format!("not a URL ({}://...)", schemes[0])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_every_value_shows() {
        let config = Config::embedded();
        for (i, key) in KEYS.iter().enumerate() {
            assert!(
                KEYS[..i]
                    .iter()
                    .all(|k| k.path != key.path && k.env != key.env),
                "{} listed twice",
                key.path
            );
            assert!(!key.path.starts_with('/') && !key.path.ends_with('/'));
            let shown = (key.show)(&config);
            if !matches!(key.kind, Kind::Url(_) | Kind::Secret) {
                assert_eq!(key.check(&shown), Ok(()), "{}: default {shown:?}", key.env);
            }
        }
        assert_eq!(
            by_path("rate_limit/per_sec").unwrap().env,
            "RATE_LIMIT_PER_SEC"
        );
        assert_eq!(
            by_env("DB_MAX_CONNECTIONS").unwrap().reload,
            Reload::Restart
        );
        assert!(by_path("rate_limit").is_none());
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let per_sec = by_path("rate_limit/per_sec").unwrap();
        assert_eq!(per_sec.check("50"), Ok(()));
        assert_eq!(per_sec.check("0"), Ok(()), "0 disables");
        assert!(per_sec.check("-5").unwrap_err().contains("whole number"));
        assert!(per_sec.check("fast").is_err());
        assert!(per_sec.check("").is_err());
        assert!(per_sec.check("5\u{7}").unwrap_err().contains("control"));
        let attempts = by_path("retry/attempts").unwrap();
        assert!(attempts.check("0").unwrap_err().contains("outside 1..=10"));
        assert!(attempts.check("99999999999999999999999").is_err());
        let bind = by_path("server/bind_addr").unwrap();
        assert_eq!(bind.check("0.0.0.0:8080"), Ok(()));
        assert!(bind.check("localhost").is_err());
        let db = by_path("database/url").unwrap();
        assert_eq!(db.check("postgres://u:p@h:5432/db"), Ok(()));
        assert_eq!(db.check("/tmp/library.db"), Ok(()));
        assert!(db.check("mysql://h/db").is_err());
        let level = by_path("log/level").unwrap();
        assert_eq!(level.check("info,target_service=debug"), Ok(()));
        assert!(level.check("info,[[[").is_err());
        let prefix = by_path("cache/prefix").unwrap();
        assert_eq!(prefix.check(&"p".repeat(255)), Ok(()));
        let long = prefix.check(&"p".repeat(256)).unwrap_err();
        assert!(long.contains("256 bytes") && long.contains("255"), "{long}");
        assert!(level
            .check(&"info,".repeat(1000))
            .unwrap_err()
            .contains("4096"));
        assert_eq!(prefix.loggable("short"), "short");
        let shown = prefix.loggable(&"é".repeat(300));
        assert!(
            shown.ends_with("... (600 bytes)") && shown.len() < 200,
            "{shown}"
        );
        assert_eq!(
            by_path("auth/token_secret").unwrap().loggable("s3cret"),
            "(hidden)"
        );
        assert!(by_path("rate_limit/trust_proxy_headers")
            .unwrap()
            .check("yes")
            .is_err());
    }

    #[test]
    fn docs_list_every_key_as_live_or_restart() {
        let docs = include_str!("../../../docs/SERVICE.md");
        for key in KEYS {
            let applied = match key.reload {
                Reload::Live => "**live**",
                Reload::Restart => "restart",
            };
            let row = format!("| `{}` | `{}` | {applied} |", key.path, key.env);
            assert!(docs.contains(&row), "docs/SERVICE.md lacks {row}");
        }
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            redact_url("postgres://library:s3cret@pgbouncer:6432/library?x=1"),
            "postgres://library:***@pgbouncer:6432/library?x=1"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("/tmp/a.db"), "/tmp/a.db");
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=s3cret&sslpassword=k3y"),
            "postgres://u@h/db?sslmode=require&password=***&sslpassword=***"
        );
        assert_eq!(
            redact_url("postgres://u:p@h?PASSWORD=s3cret"),
            "postgres://u:***@h?PASSWORD=***"
        );
        assert_eq!(
            redact_url("postgres://h/db?user=u&passwords=1"),
            "postgres://h/db?user=u&passwords=1"
        );
    }
}
