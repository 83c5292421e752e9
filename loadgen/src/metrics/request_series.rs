//! The per-second series of one request (`GET /books/{id}`, or every method of
//! a name), kept only for the requests a windowed rule names
//! (`p95<300ms for 30s for GET /books/{id}`): a series for every endpoint of
//! every run would grow summary.json by the endpoints times the seconds.

use super::second::SecondPoint;
use super::snapshot::{EndpointKey, EndpointStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestSeries {
    /// `None`: every method of `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub name: String,
    /// A point for every second of the run (empty seconds included), users
    /// being the whole run's.
    pub points: Vec<SecondPoint>,
}

impl RequestSeries {
    pub fn new(method: Option<&str>, name: &str) -> RequestSeries {
        RequestSeries {
            method: method.map(str::to_string),
            name: name.to_string(),
            points: Vec::new(),
        }
    }

    /// Whether this is the series of `method` (`None`: every method) and `name`.
    pub fn is(&self, method: Option<&str>, name: &str) -> bool {
        self.method.as_deref() == method && self.name == name
    }

    fn takes(&self, key: &EndpointKey) -> bool {
        key.is(self.method.as_deref(), &self.name)
    }

    /// Adds a closed second: the stats of the endpoints this series takes, merged.
    pub fn push(
        &mut self,
        second: u64,
        users: u64,
        per_endpoint: &BTreeMap<EndpointKey, EndpointStats>,
    ) {
        let mut merged = EndpointStats::default();
        per_endpoint
            .iter()
            .filter(|(key, _)| self.takes(key))
            .for_each(|(_, stats)| merged.merge(stats));
        self.points
            .push(SecondPoint::from_stats(second, users, &merged));
    }

    /// The series of `method` and `name` among `all`.
    pub fn find<'a>(
        all: &'a [RequestSeries],
        method: Option<&str>,
        name: &str,
    ) -> Option<&'a RequestSeries> {
        all.iter().find(|s| s.is(method, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_takes_its_method_or_every_method_of_its_name() {
        let key = |method: &str, name: &str| EndpointKey {
            method: method.into(),
            name: name.into(),
        };
        let mut second = BTreeMap::new();
        for (k, latency_us, failed) in [
            (key("GET", "/books"), 2_000, false),
            (key("POST", "/books"), 9_000, true),
            (key("GET", "/loans"), 50_000, false),
        ] {
            let mut stats = EndpointStats::default();
            let failure = failed.then_some((super::super::FailureKind::Status, "HTTP 500"));
            stats.record(latency_us, 0, failure);
            second.insert(k, stats);
        }
        let mut get = RequestSeries::new(Some("GET"), "/books");
        let mut any = RequestSeries::new(None, "/books");
        for s in [&mut get, &mut any] {
            s.push(0, 7, &second);
            s.push(1, 7, &BTreeMap::new());
        }
        assert_eq!((get.points[0].requests, get.points[0].failures), (1, 0));
        assert!(get.points[0].p99_us < 3_000);
        assert_eq!((any.points[0].requests, any.points[0].failures), (2, 1));
        assert!(any.points[0].max_us >= 9_000 && any.points[0].max_us < 10_000);
        assert_eq!((any.points[1].second, any.points[1].requests), (1, 0));
        assert_eq!(any.points[0].users, 7);
        let all = [get, any];
        assert_eq!(
            RequestSeries::find(&all, None, "/books").unwrap().points[0].requests,
            2
        );
        assert!(RequestSeries::find(&all, Some("PUT"), "/books").is_none());
    }
}
