//! Metrics out and the server side in: the live Prometheus exporter
//! (`--prometheus ADDR`) and the per-second scrape of the target's own
//! Prometheus metrics (`--scrape URL`) into the run's summary and reports;
//! [`serve`]: the capped HTTP server the run's own pages use.

pub mod exporter;
pub mod exposition;
pub mod prom_text;
pub mod scraper;
pub mod serve;
pub mod server_series;

use std::net::SocketAddr;

/// The metrics the scraper keeps from each target unless told otherwise: what
/// the bundled service (and most Prometheus client libraries) expose about
/// load, overload, dependencies and the process.
pub const DEFAULT_SCRAPE_METRICS: [&str; 8] = [
    "http_requests_in_flight",
    "http_requests_shed_total",
    "http_requests_rate_limited_total",
    "circuit_breaker_open",
    "bulkhead_in_use",
    "db_pool_connections",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
];

/// Where `--scrape` reads: a URL, or `target`: the run's own target's `/metrics`.
#[derive(Clone, Debug, PartialEq)]
pub enum ScrapeSource {
    Url(reqwest::Url),
    Target,
}

/// What a run exports and scrapes, checked once from the command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservePlan {
    /// `--prometheus`: where to serve `/metrics` while the run lasts.
    pub prometheus: Option<SocketAddr>,
    /// `--scrape`: the targets' metrics.
    pub scrape: Vec<ScrapeSource>,
    /// The metric names kept from each scrape: the defaults, then `--scrape-metric`.
    pub scrape_metrics: Vec<String>,
}

impl ObservePlan {
    /// Checks the flags; an error names the flag and how to fix it.
    pub fn parse(
        prometheus: Option<&str>,
        scrape: &[String],
        extra_metrics: &[String],
    ) -> Result<ObservePlan, String> {
        let prometheus = prometheus
            .map(|text| {
                text.parse::<SocketAddr>().map_err(|_| {
                    format!(
                        "--prometheus '{text}' is not an IP:PORT to listen on \
                         (e.g. 127.0.0.1:9646, or 0.0.0.0:9646 to be scraped from other machines)"
                    )
                })
            })
            .transpose()?;
        let scrape = scrape
            .iter()
            .map(|text| match text.as_str() {
                "target" => Ok(ScrapeSource::Target),
                _ => scrape_url(text).map(ScrapeSource::Url),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !extra_metrics.is_empty() && scrape.is_empty() {
            return Err(
                "--scrape-metric names a metric to keep from --scrape: give --scrape URL too"
                    .into(),
            );
        }
        let mut scrape_metrics: Vec<String> = DEFAULT_SCRAPE_METRICS
            .iter()
            .map(|m| m.to_string())
            .collect();
        for name in extra_metrics {
            if !prom_text::is_metric_name(name) {
                return Err(format!(
                    "--scrape-metric '{name}' is not a Prometheus metric name \
                     (letters, digits, '_' and ':', not starting with a digit)"
                ));
            }
            if !scrape_metrics.contains(name) {
                scrape_metrics.push(name.clone());
            }
        }
        Ok(ObservePlan {
            prometheus,
            scrape,
            scrape_metrics,
        })
    }
}

impl ObservePlan {
    /// The URLs to scrape, `target` resolved against the run's host.
    pub fn scrape_urls(&self, host: &str) -> Vec<reqwest::Url> {
        self.scrape
            .iter()
            .filter_map(|source| match source {
                ScrapeSource::Url(url) => Some(url.clone()),
                ScrapeSource::Target => {
                    let base = reqwest::Url::parse(host).ok()?;
                    base.join("/metrics").ok()
                }
            })
            .collect()
    }
}

fn scrape_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| {
        format!("--scrape '{text}': {e} (give a full URL, e.g. http://127.0.0.1:8080/metrics)")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "--scrape '{text}': give an http(s) URL with a host, e.g. http://127.0.0.1:8080/metrics \
             (or `target`: the run's target's /metrics)"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked_with_a_way_out() {
        let ok = ObservePlan::parse(
            Some("127.0.0.1:9646"),
            &["http://127.0.0.1:8080/metrics".into()],
            &["tokio_tasks".into(), "http_requests_in_flight".into()],
        )
        .unwrap();
        assert_eq!(ok.prometheus.unwrap().port(), 9646);
        assert_eq!(ok.scrape_metrics.len(), DEFAULT_SCRAPE_METRICS.len() + 1);
        let target = ObservePlan::parse(None, &["target".into()], &[]).unwrap();
        assert_eq!(
            target
                .scrape_urls("http://127.0.0.1:8080/api")
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>(),
            ["http://127.0.0.1:8080/metrics"]
        );
        let bad = |p: Option<&str>, s: &[&str], m: &[&str]| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let m: Vec<String> = m.iter().map(|x| x.to_string()).collect();
            ObservePlan::parse(p, &s, &m).unwrap_err()
        };
        assert!(bad(Some("9646"), &[], &[]).contains("IP:PORT"));
        assert!(bad(None, &["127.0.0.1:8080/metrics"], &[]).contains("e.g. http://"));
        assert!(bad(None, &["ftp://x/metrics"], &[]).contains("http(s) URL"));
        assert!(bad(None, &["http://x/metrics"], &["1bad"]).contains("metric name"));
        assert!(bad(None, &[], &["ok_name"]).contains("give --scrape"));
    }
}
