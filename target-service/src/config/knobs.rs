//! The knobs a running instance changes without a restart, as one typed snapshot that
//! is swapped whole and read per request (a read lock and an `Arc` clone), and the
//! bookkeeping of the rest: which etcd changes wait for a restart.

use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::keys::{by_path, Key, Reload, KEYS};
use super::layers::{Layers, Source};
use super::Config;
use crate::resilience::BreakerConfig;

/// The live values, typed. A new snapshot replaces the old one whole.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveKnobs {
    pub breaker: BreakerConfig,
    pub retry_attempts: u32,
    pub retry_base: Duration,
    pub rate_limit_per_sec: u32,
    pub rate_limit_burst: u32,
    pub max_in_flight: usize,
    pub cache_ttl: Duration,
    pub search_cache_ttl: Duration,
    pub search_count_ttl: Duration,
    pub log_level: String,
}

impl LiveKnobs {
    pub fn from_config(c: &Config) -> LiveKnobs {
        LiveKnobs {
            breaker: c.breaker.clone(),
            retry_attempts: c.retry_attempts,
            retry_base: c.retry_base,
            rate_limit_per_sec: c.rate_limit_per_sec,
            rate_limit_burst: c.rate_limit_burst,
            max_in_flight: c.max_in_flight,
            cache_ttl: c.cache_ttl,
            search_cache_ttl: c.search_cache_ttl,
            search_count_ttl: c.search_count_ttl,
            log_level: c.log_level.clone(),
        }
    }
}

/// How the watch on etcd stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EtcdStatus {
    /// No `ETCD_URL`.
    Off,
    /// Not reached yet (at start, or since it was lost): the current values stay.
    Unreachable,
    /// Read and watched.
    Watching,
}

/// One row of `GET /admin/config`.
#[derive(Clone, Debug, Serialize)]
pub struct KnobReport {
    pub key: String,
    pub env: &'static str,
    pub reload: Reload,
    /// The value in effect now.
    pub value: String,
    /// `default`, `env`, `etcd`, or `pending` when a different value awaits a restart.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_value: Option<String>,
}

/// Applies a new snapshot to a component that holds its own copy (breakers, limiter...).
type Applier = Box<dyn Fn(&LiveKnobs) + Send + Sync>;

/// Applies a log filter to the process's subscriber (installed by the binary).
type LogLevelHook = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

static LOG_LEVEL_HOOK: OnceLock<LogLevelHook> = OnceLock::new();

/// Lets `log/level` change the running subscriber's filter (the binary calls this once).
pub fn on_log_level(hook: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static) {
    let _ = LOG_LEVEL_HOOK.set(Box::new(hook));
}

struct Sources {
    layers: Layers,
    /// The configuration the current layers give (restart-only values not applied).
    current: Config,
}

/// The instance's configuration as it runs: what it started with, the live snapshot,
/// and the layers etcd keeps changing.
pub struct Knobs {
    started: Arc<Config>,
    /// `started`'s layers parsed afresh: what changes are measured against (the
    /// running config may hold values filled in later, e.g. the embedded database's path).
    baseline: Config,
    live: RwLock<Arc<LiveKnobs>>,
    sources: Mutex<Sources>,
    appliers: Mutex<Vec<Applier>>,
    etcd: Mutex<EtcdStatus>,
    /// Cancelled when the last handle goes: stops the watch on etcd.
    dropped: CancellationToken,
}

impl Drop for Knobs {
    fn drop(&mut self) {
        self.dropped.cancel();
    }
}

fn unpoisoned<T>(r: Result<T, PoisonError<T>>) -> T {
    r.unwrap_or_else(PoisonError::into_inner)
}

impl Knobs {
    pub fn new(started: Arc<Config>) -> Knobs {
        let etcd = match started.etcd_url {
            Some(_) => EtcdStatus::Unreachable,
            None => EtcdStatus::Off,
        };
        let live = LiveKnobs::from_config(&started);
        let log_from_etcd = super::keys::by_env("RUST_LOG")
            .is_some_and(|key| started.layers.effective(key).1 == Source::Etcd);
        if log_from_etcd {
            apply_log_level(&live.log_level);
        }
        let baseline =
            Config::from_layers(started.layers.clone()).unwrap_or_else(|_| (*started).clone());
        Knobs {
            live: RwLock::new(Arc::new(live)),
            sources: Mutex::new(Sources {
                layers: started.layers.clone(),
                current: baseline.clone(),
            }),
            baseline,
            started,
            appliers: Mutex::new(Vec::new()),
            etcd: Mutex::new(etcd),
            dropped: CancellationToken::new(),
        }
    }

    /// The live values now (cheap: call it per request, keep it for the request).
    pub fn current(&self) -> Arc<LiveKnobs> {
        unpoisoned(self.live.read()).clone()
    }

    /// The configuration the instance started with (restart-only values come from here).
    pub fn started(&self) -> &Config {
        &self.started
    }

    /// Runs `apply` with every new snapshot (not with the current one).
    pub fn on_change(&self, apply: impl Fn(&LiveKnobs) + Send + Sync + 'static) {
        unpoisoned(self.appliers.lock()).push(Box::new(apply));
    }

    /// Cancelled once these knobs are gone (their service stopped).
    pub fn dropped(&self) -> CancellationToken {
        self.dropped.clone()
    }

    pub fn etcd_status(&self) -> EtcdStatus {
        *unpoisoned(self.etcd.lock())
    }

    pub fn set_etcd_status(&self, status: EtcdStatus) {
        *unpoisoned(self.etcd.lock()) = status;
    }

    /// One etcd event: `path` is the key below the prefix, `value` `None` when deleted.
    /// A bad value is refused (logged with key and reason) and the last good one stays.
    pub fn set_etcd_value(&self, path: &str, value: Option<&str>) {
        let mut sources = unpoisoned(self.sources.lock());
        let mut layers = sources.layers.clone();
        if self.stage(&mut layers, path, value) {
            self.commit(&mut sources, layers);
        } else {
            // The values are unchanged, but the refusals are remembered.
            sources.layers = layers;
        }
    }

    /// Everything under the prefix, as read after (re)connecting: keys absent from
    /// `values` are back to their defaults; bad values keep their last good ones.
    pub fn replace_etcd_values<'a>(&self, values: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut sources = unpoisoned(self.sources.lock());
        let mut layers = sources.layers.clone();
        let values: Vec<(&str, &str)> = values.into_iter().collect();
        let mut changed = false;
        for key in KEYS {
            let value = values.iter().find(|(p, _)| *p == key.path).map(|(_, v)| *v);
            changed |= self.stage(&mut layers, key.path, value);
        }
        for (path, _) in values.iter().filter(|(p, _)| by_path(p).is_none()) {
            tracing::warn!(key = %self.etcd_key(path), "unknown configuration key in etcd; ignored");
        }
        if changed {
            self.commit(&mut sources, layers);
        } else {
            sources.layers = layers;
        }
    }

    /// The full etcd key of `path`.
    fn etcd_key(&self, path: &str) -> String {
        format!("{}{path}", self.started.etcd_prefix)
    }

    /// Checks and stages one value into `layers`; `true` when they changed.
    fn stage(&self, layers: &mut Layers, path: &str, value: Option<&str>) -> bool {
        let Some(key) = by_path(path) else {
            if value.is_some() {
                tracing::warn!(key = %self.etcd_key(path), "unknown configuration key in etcd; ignored");
            }
            return false;
        };
        match layers.set_etcd(key, value) {
            Ok(changed) => changed,
            Err(refusal) if refusal.repeated => false,
            Err(refusal) => {
                let shown = key.loggable(value.unwrap_or(""));
                tracing::warn!(key = %self.etcd_key(path), value = shown.as_str(), reason = %refusal.reason, "refused a configuration value from etcd; the last good value stays");
                false
            }
        }
    }

    /// Rebuilds the configuration from `layers`, publishes the live part and logs
    /// what changed and what waits for a restart.
    fn commit(&self, sources: &mut Sources, layers: Layers) {
        let next = match Config::from_layers(layers.clone()) {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "refused a configuration from etcd; the last good values stay");
                return;
            }
        };
        for key in KEYS {
            if !differs(key, (&sources.current, &sources.layers), (&next, &layers)) {
                continue;
            }
            let source = layers.effective(key).1;
            let shown = (key.show)(&next);
            match key.reload {
                Reload::Live => {
                    tracing::info!(key = %self.etcd_key(key.path), value = %shown, source = source.as_str(), "configuration changed")
                }
                Reload::Restart => {
                    tracing::warn!(key = %self.etcd_key(key.path), value = %shown, "configuration changed; takes effect at the next restart (pending)")
                }
            }
        }
        let live = LiveKnobs::from_config(&next);
        sources.layers = layers;
        sources.current = next;
        let previous = {
            let mut slot = unpoisoned(self.live.write());
            std::mem::replace(&mut *slot, Arc::new(live.clone()))
        };
        if *previous == live {
            return;
        }
        if previous.log_level != live.log_level {
            apply_log_level(&live.log_level);
        }
        for apply in unpoisoned(self.appliers.lock()).iter() {
            apply(&live);
        }
    }

    /// Every knob: its value in effect, its source, and any value awaiting a restart.
    pub fn report(&self) -> Vec<KnobReport> {
        let sources = unpoisoned(self.sources.lock());
        KEYS.iter()
            .map(|key| self.report_one(key, &sources))
            .collect()
    }

    fn report_one(&self, key: &'static Key, sources: &Sources) -> KnobReport {
        let (running, now) = match key.reload {
            Reload::Live => (&sources.current, &sources.layers),
            Reload::Restart => (&*self.started, &self.started.layers),
        };
        let value = (key.show)(running);
        let waiting = (key.show)(&sources.current);
        let pending = key.reload == Reload::Restart
            && differs(
                key,
                (&self.baseline, &self.started.layers),
                (&sources.current, &sources.layers),
            );
        let source = if pending {
            "pending"
        } else {
            now.effective(key).1.as_str()
        };
        KnobReport {
            key: self.etcd_key(key.path),
            env: key.env,
            reload: key.reload,
            value,
            source: source.to_string(),
            pending_value: pending.then_some(waiting),
        }
    }

    /// The restart-only knobs whose etcd value differs from the running one.
    pub fn pending(&self) -> Vec<KnobReport> {
        self.report()
            .into_iter()
            .filter(|r| r.pending_value.is_some())
            .collect()
    }
}

/// Whether `key` has another value in `b` than in `a`: as shown, or for a secret
/// (always shown hidden) as set.
fn differs(key: &Key, a: (&Config, &Layers), b: (&Config, &Layers)) -> bool {
    (key.show)(a.0) != (key.show)(b.0)
        || (key.is_secret() && a.1.effective(key).0 != b.1.effective(key).0)
}

fn apply_log_level(level: &str) {
    if let Some(hook) = LOG_LEVEL_HOOK.get() {
        match hook(level) {
            Ok(()) => tracing::info!(level, "log filter changed"),
            Err(e) => tracing::warn!(level, error = %e, "could not change the log filter"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn knobs(env: &[(&str, &str)]) -> Knobs {
        let vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Knobs::new(Arc::new(Config::from_map(&vars).unwrap()))
    }

    fn row(knobs: &Knobs, env: &str) -> KnobReport {
        knobs.report().into_iter().find(|r| r.env == env).unwrap()
    }

    #[test]
    fn a_live_change_is_published_and_applied() {
        let k = knobs(&[]);
        let seen = Arc::new(AtomicU32::new(0));
        let applied = seen.clone();
        k.on_change(move |live| applied.store(live.rate_limit_per_sec, Ordering::SeqCst));
        k.set_etcd_value("rate_limit/per_sec", Some("50"));
        assert_eq!(k.current().rate_limit_per_sec, 50);
        assert_eq!(k.current().rate_limit_burst, 50, "the burst follows");
        assert_eq!(seen.load(Ordering::SeqCst), 50);
        let r = row(&k, "RATE_LIMIT_PER_SEC");
        assert_eq!((r.value.as_str(), r.source.as_str()), ("50", "etcd"));
        assert_eq!(r.key, "/config/rate_limit/per_sec");

        k.set_etcd_value("rate_limit/per_sec", None);
        assert_eq!(
            k.current().rate_limit_per_sec,
            20_000,
            "deleted: the default"
        );
        assert_eq!(row(&k, "RATE_LIMIT_PER_SEC").source, "default");
    }

    #[test]
    fn bad_and_unknown_values_change_nothing() {
        let k = knobs(&[]);
        k.set_etcd_value("retry/attempts", Some("2"));
        let before = k.current();
        k.set_etcd_value("retry/attempts", Some("0"));
        k.set_etcd_value("retry/attempts", Some("many"));
        k.set_etcd_value("no/such/knob", Some("1"));
        assert_eq!(k.current(), before);
        assert_eq!(k.current().retry_attempts, 2, "the last good value stays");
    }

    #[test]
    fn the_environment_wins_over_etcd() {
        let k = knobs(&[("MAX_IN_FLIGHT", "8")]);
        k.set_etcd_value("limits/max_in_flight", Some("100"));
        assert_eq!(k.current().max_in_flight, 8);
        assert_eq!(row(&k, "MAX_IN_FLIGHT").source, "env");
    }

    #[test]
    fn restart_only_changes_are_pending_not_applied() {
        let k = knobs(&[]);
        k.set_etcd_value("database/max_connections", Some("20"));
        k.set_etcd_value("auth/token_secret", Some("new-secret"));
        let r = row(&k, "DB_MAX_CONNECTIONS");
        assert_eq!(r.value, "10", "still the started value");
        assert_eq!(r.source, "pending");
        assert_eq!(r.pending_value.as_deref(), Some("20"));
        let secret = row(&k, "TOKEN_SECRET");
        assert_eq!(secret.source, "pending");
        assert_eq!(secret.pending_value.as_deref(), Some("(hidden)"));
        let pending: Vec<_> = k.pending().into_iter().map(|r| r.env).collect();
        assert_eq!(pending, ["DB_MAX_CONNECTIONS", "TOKEN_SECRET"]);

        k.set_etcd_value("database/max_connections", Some("10"));
        assert_eq!(
            row(&k, "DB_MAX_CONNECTIONS").source,
            "default",
            "back to the running value: nothing waits"
        );
        k.replace_etcd_values([("auth/token_secret", "new-secret")]);
        assert_eq!(k.pending().len(), 1, "only the secret still waits");
    }

    #[test]
    fn values_filled_in_after_start_are_not_pending() {
        let mut started = Config::embedded();
        started.database_url = Some("/tmp/embedded/library.db".into());
        let k = Knobs::new(Arc::new(started));
        k.set_etcd_value("rate_limit/per_sec", Some("9"));
        assert!(k.pending().is_empty(), "{:?}", k.pending());
        assert_eq!(row(&k, "DATABASE_URL").value, "/tmp/embedded/library.db");
    }

    #[test]
    fn a_resync_applies_the_whole_prefix() {
        let k = knobs(&[]);
        k.set_etcd_value("cache/ttl_secs", Some("30"));
        k.replace_etcd_values([
            ("circuit_breakers/failure_threshold", "2"),
            ("circuit_breakers/open_ms", "oops"),
        ]);
        let live = k.current();
        assert_eq!(live.breaker.failure_threshold, 2);
        assert_eq!(live.breaker.open_for, Duration::from_secs(5));
        assert_eq!(live.cache_ttl, Duration::from_secs(300), "absent: default");
    }
}
