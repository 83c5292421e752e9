//! Bounds on what one snapshot may hold, checked while it is decoded: each
//! endpoint or scenario row carries fixed-size HDR histograms (~160 KB each),
//! so a frame from a worker that declares thousands of rows would allocate
//! gigabytes before any other check could refuse it. Decoding stops at the
//! first row past the bound; a recorder never drains more than the bound.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// The most endpoint rows (method and name) in one snapshot: a recorder keeps
/// 500 names and one row for the rest, and folds rows past this bound too.
pub const MAX_SNAPSHOT_ENDPOINTS: usize = 1_024;
/// The most scenario rows in one snapshot.
pub const MAX_SNAPSHOT_SCENARIOS: usize = 256;
/// The most counters in one snapshot (a recorder keeps 500 and one for the rest).
pub const MAX_SNAPSHOT_COUNTERS: usize = 1_024;

/// A sequence of at most `max` items, refused at the first past it.
pub fn seq<'de, D, T>(d: D, max: usize, what: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T> {
        max: usize,
        what: &'static str,
        item: PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "at most {} {}", self.max, self.what)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = items.next_element()? {
                if out.len() == self.max {
                    return Err(serde::de::Error::custom(format!(
                        "more than {} {} in one snapshot",
                        self.max, self.what
                    )));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Bounded {
        max,
        what,
        item: PhantomData,
    })
}

/// A map of at most `max` entries, refused at the first past it.
pub fn map<'de, D, V>(d: D, max: usize, what: &'static str) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Bounded<V> {
        max: usize,
        what: &'static str,
        value: PhantomData<V>,
    }
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Bounded<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "at most {} {}", self.max, self.what)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = entries.next_key::<String>()? {
                if out.len() == self.max {
                    return Err(serde::de::Error::custom(format!(
                        "more than {} {} in one snapshot",
                        self.max, self.what
                    )));
                }
                out.insert(key, entries.next_value()?);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Bounded {
        max,
        what,
        value: PhantomData,
    })
}

pub fn scenarios<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    map(d, MAX_SNAPSHOT_SCENARIOS, "scenario rows")
}

pub fn counters<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u64>, D::Error> {
    map(d, MAX_SNAPSHOT_COUNTERS, "counters")
}
