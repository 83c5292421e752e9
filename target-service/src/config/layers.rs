//! The configuration's sources and their precedence: default < etcd < environment.
//! A value from etcd is checked against its key before it joins the etcd layer, so a
//! bad one never displaces the last good one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::keys::Key;

/// Where a knob's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Default,
    Etcd,
    Env,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::Etcd => "etcd",
            Source::Env => "env",
        }
    }
}

/// The environment (and `.env`) as read at start, and the good values etcd holds,
/// keyed by environment variable name.
#[derive(Clone, Default)]
pub struct Layers {
    env: Arc<HashMap<String, String>>,
    etcd: BTreeMap<&'static str, String>,
    /// The last value refused per key, so a bad value read again is not logged again.
    refused: BTreeMap<&'static str, String>,
    /// Whether the start already asked etcd (answered or not): it asks once.
    etcd_tried: bool,
}

/// Why an etcd value was refused, and whether that same value was refused before.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub repeated: bool,
}

impl std::fmt::Debug for Layers {
    /// Names only: values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layers")
            .field("etcd", &self.etcd.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Layers {
    pub fn from_env(vars: HashMap<String, String>) -> Layers {
        Layers {
            env: Arc::new(vars),
            etcd: BTreeMap::new(),
            refused: BTreeMap::new(),
            etcd_tried: false,
        }
    }

    pub fn etcd_tried(&self) -> bool {
        self.etcd_tried
    }

    pub fn mark_etcd_tried(&mut self) {
        self.etcd_tried = true;
    }

    /// A variable as the environment sets it (blank counts as unset, as `Config` reads it).
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The raw value that wins for `key`, and its source; `None` means the default.
    pub fn effective(&self, key: &Key) -> (Option<&str>, Source) {
        match (self.env_value(key.env), self.etcd.get(key.env)) {
            (Some(v), _) => (Some(v), Source::Env),
            (None, Some(v)) => (Some(v.as_str()), Source::Etcd),
            (None, None) => (None, Source::Default),
        }
    }

    /// Every variable `Config::from_map` should see: etcd's values under the environment's.
    pub fn merged(&self) -> HashMap<String, String> {
        let mut vars: HashMap<String, String> = self
            .etcd
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        vars.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }

    /// Sets (`Some`) or removes (`None`) `key`'s etcd value after checking it.
    /// `Ok(true)` when the layer changed; a refusal leaves it as it was.
    pub fn set_etcd(&mut self, key: &'static Key, value: Option<&str>) -> Result<bool, Refusal> {
        let Some(raw) = value.map(str::trim) else {
            self.refused.remove(key.env);
            return Ok(self.etcd.remove(key.env).is_some());
        };
        if let Err(reason) = key.check(raw) {
            let before = self.refused.insert(key.env, raw.to_string());
            let repeated = before.as_deref() == Some(raw);
            return Err(Refusal { reason, repeated });
        }
        self.refused.remove(key.env);
        let previous = self.etcd.insert(key.env, raw.to_string());
        Ok(previous.as_deref() != Some(raw))
    }

    /// The etcd values, by environment variable name.
    pub fn etcd_values(&self) -> &BTreeMap<&'static str, String> {
        &self.etcd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::by_env;
    use crate::config::Config;

    fn layers(env: &[(&str, &str)]) -> Layers {
        Layers::from_env(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn environment_beats_etcd_beats_default() {
        let per_sec = by_env("RATE_LIMIT_PER_SEC").unwrap();
        let in_flight = by_env("MAX_IN_FLIGHT").unwrap();
        let ttl = by_env("CACHE_TTL_SECS").unwrap();
        let mut l = layers(&[("RATE_LIMIT_PER_SEC", "7"), ("CACHE_TTL_SECS", "  ")]);
        assert_eq!(l.set_etcd(per_sec, Some("50")), Ok(true));
        assert_eq!(l.set_etcd(in_flight, Some(" 64 ")), Ok(true));
        assert_eq!(l.set_etcd(in_flight, Some("64")), Ok(false), "unchanged");
        assert_eq!(l.effective(per_sec), (Some("7"), Source::Env));
        assert_eq!(l.effective(in_flight), (Some("64"), Source::Etcd));
        assert_eq!(l.effective(ttl), (None, Source::Default), "blank is unset");

        let config = Config::from_layers(l.clone()).unwrap();
        assert_eq!(config.rate_limit_per_sec, 7);
        assert_eq!(config.max_in_flight, 64);
        assert_eq!(config.cache_ttl.as_secs(), 300);
        assert_eq!(config.rate_limit_burst, 7, "the burst follows the rate");

        assert_eq!(l.set_etcd(in_flight, None), Ok(true));
        assert_eq!(l.effective(in_flight), (None, Source::Default));
    }

    #[test]
    fn a_bad_etcd_value_keeps_the_last_good_one() {
        let per_sec = by_env("RATE_LIMIT_PER_SEC").unwrap();
        let mut l = layers(&[]);
        l.set_etcd(per_sec, Some("50")).unwrap();
        let refusal = l.set_etcd(per_sec, Some("lots")).unwrap_err();
        assert!(refusal.reason.contains("\"lots\""), "{refusal:?}");
        assert!(!refusal.repeated);
        assert!(l.set_etcd(per_sec, Some("lots")).unwrap_err().repeated);
        assert!(!l.set_etcd(per_sec, Some("lotz")).unwrap_err().repeated);
        assert_eq!(l.effective(per_sec), (Some("50"), Source::Etcd));
        assert_eq!(
            Config::from_layers(l).unwrap().rate_limit_burst,
            50,
            "the burst follows the rate from etcd too"
        );
    }
}
