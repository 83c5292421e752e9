//! `--scrape URL`: reads each target's Prometheus metrics once a second while
//! the run lasts. A scrape is taken when a second of the run has ended and is
//! recorded as that second's (the server's state at its end); a target that
//! does not answer within the second is noted, never fatal.

use super::prom_text;
use super::server_series::{ServerMetrics, TargetRecorder};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A scrape must answer within this, so the next second's can start on time.
const SCRAPE_TIMEOUT: Duration = Duration::from_millis(900);
/// The most of a target's answer read: a metrics page is kilobytes.
const MAX_BODY: usize = 8 << 20;
/// The most samples of the kept metrics one answer may have (each label set
/// of each kept metric is one): a target past it is noted as failing.
pub const MAX_KEPT_SAMPLES: usize = 4_096;

type Recorders = Arc<Mutex<Vec<TargetRecorder>>>;

pub struct Scraper {
    recorders: Recorders,
    seconds: watch::Sender<Option<u64>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scraper {
    /// One task per target, each waiting for the seconds to end.
    pub fn start(urls: &[reqwest::Url], metrics: &[String]) -> Scraper {
        let recorders: Recorders = Arc::new(Mutex::new(
            urls.iter()
                .map(|u| TargetRecorder::new(u.as_str(), metrics))
                .collect(),
        ));
        let (seconds, _) = watch::channel(None);
        let client = reqwest::Client::builder()
            .timeout(SCRAPE_TIMEOUT)
            .no_proxy()
            .build()
            .expect("a plain HTTP client builds");
        let tasks = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                let job = Job {
                    index: i,
                    wanted: Arc::new(metrics.to_vec()),
                    url: url.clone(),
                    client: client.clone(),
                    recorders: recorders.clone(),
                };
                tokio::spawn(job.run(seconds.subscribe()))
            })
            .collect();
        Scraper {
            recorders,
            seconds,
            tasks,
        }
    }

    /// A handle for the per-second observer.
    pub fn clock(&self) -> ScrapeClock {
        ScrapeClock(self.seconds.clone())
    }

    /// A handle the dashboard reads the series through.
    pub fn feed(&self) -> ServerFeed {
        ServerFeed(self.recorders.clone())
    }

    /// Stops scraping (a scrape under way finishes first) and returns what was read.
    pub async fn finish(self) -> ServerMetrics {
        drop(self.seconds);
        for task in self.tasks {
            let _ = task.await;
        }
        let recorders = std::mem::take(&mut *lock(&self.recorders));
        let mut out = ServerMetrics::default();
        for r in recorders {
            let (target, series) = r.finish();
            out.targets.push(target);
            out.series.extend(series);
        }
        out
    }
}

/// The scraped series as they grow, for the dashboard.
#[derive(Clone)]
pub struct ServerFeed(Recorders);

impl ServerFeed {
    /// `metric` summed over every target and label set, second by second.
    pub fn summed(&self, metric: &str) -> Vec<(u64, f64)> {
        let recorders = lock(&self.0);
        let mut by_second = std::collections::BTreeMap::new();
        for s in recorders.iter().flat_map(TargetRecorder::series) {
            if s.metric == metric {
                for (second, v) in &s.points {
                    *by_second.entry(*second).or_insert(0.0) += v;
                }
            }
        }
        by_second.into_iter().collect()
    }
}

/// Tells the scraper a second of the run has ended.
#[derive(Clone)]
pub struct ScrapeClock(watch::Sender<Option<u64>>);

impl ScrapeClock {
    /// `elapsed_secs`: the run's age now; the last whole second is scraped for.
    pub fn tick(&self, elapsed_secs: f64) {
        let Some(second) = (elapsed_secs.floor() as u64).checked_sub(1) else {
            return;
        };
        self.0.send_if_modified(|last| {
            let newer = last.is_none_or(|l| second > l);
            if newer {
                *last = Some(second);
            }
            newer
        });
    }
}

struct Job {
    index: usize,
    url: reqwest::Url,
    client: reqwest::Client,
    recorders: Recorders,
    /// The metrics kept: nothing else of an answer is parsed into memory.
    wanted: Arc<Vec<String>>,
}

impl Job {
    async fn run(self, mut seconds: watch::Receiver<Option<u64>>) {
        while seconds.changed().await.is_ok() {
            let Some(second) = *seconds.borrow_and_update() else {
                continue;
            };
            let at = Instant::now();
            let result = self.scrape().await;
            let mut recorders = lock(&self.recorders);
            let recorder = &mut recorders[self.index];
            match result {
                Ok(exposition) => recorder.answered(second, at, &exposition),
                Err(why) => {
                    if recorder.failed(second, why.clone()) {
                        eprintln!(
                            "loadgen: scrape of {} failed at {second}s: {why} (noted in the report; the run goes on)",
                            self.url
                        );
                    }
                }
            }
        }
    }

    async fn scrape(&self) -> Result<prom_text::Exposition, String> {
        let mut response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| short_error(&e))?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| short_error(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("answer larger than {} MiB", MAX_BODY >> 20));
            }
            body.extend_from_slice(&chunk);
        }
        // Parsed off the async runtime: the load's users run there.
        let wanted = self.wanted.clone();
        tokio::task::spawn_blocking(move || {
            let text = String::from_utf8(body).map_err(|_| "answer is not UTF-8".to_string())?;
            prom_text::parse_kept(
                &text,
                |name| wanted.iter().any(|w| w == name),
                MAX_KEPT_SAMPLES,
            )
            .map_err(|e| format!("not Prometheus text: {e}"))
        })
        .await
        .map_err(|e| format!("parsing the answer failed: {e}"))?
    }
}

fn short_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} ms", SCRAPE_TIMEOUT.as_millis())
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    }
}

fn lock(r: &Recorders) -> std::sync::MutexGuard<'_, Vec<TargetRecorder>> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}
