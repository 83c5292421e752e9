//! `--prometheus ADDR`: serves the run's live figures at `http://ADDR/metrics`
//! while it runs, then the final figures until Prometheus has read them. Its
//! connections are capped and each must send its request head in time, so no
//! peer can hold the run's file descriptors or its exit.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The longest the run's end waits for a last scrape of its final figures.
const FINAL_WAIT_MAX: Duration = Duration::from_secs(30);
use super::serve::serve;
pub use super::serve::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS};

#[derive(Default)]
struct Page {
    text: Arc<String>,
    /// Bumped at each publish; a scrape records the version it served.
    version: u64,
    final_version: Option<u64>,
    scrapes: u64,
    first_scrape: Option<Instant>,
    last_scrape: Option<Instant>,
    /// A scrape said it was Prometheus (its User-Agent).
    prometheus: bool,
}

#[derive(Default)]
struct Shared {
    page: Mutex<Page>,
    final_served: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Page> {
        self.page.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The exporter's server; publish a new page each second, `finish` at the end.
pub struct Exporter {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    server: JoinHandle<()>,
}

impl Exporter {
    /// Listens on `addr` now, so a taken port is an error before the run starts.
    pub async fn bind(addr: SocketAddr) -> Result<Exporter, String> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            format!("--prometheus {addr}: cannot listen there: {e} (pick another port)")
        })?;
        let addr = listener.local_addr().unwrap_or(addr);
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/", get(index))
            .with_state(shared.clone());
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, app, stop.clone()));
        Ok(Exporter {
            addr,
            shared,
            stop,
            server,
        })
    }

    /// A handle the per-second observer publishes through.
    pub fn publisher(&self) -> Publisher {
        Publisher(self.shared.clone())
    }

    /// Publishes the final page and, if Prometheus has been scraping, waits
    /// (at most about two of its scrape intervals, 30 s at most) until it
    /// has read it, so its counters end equal to the summary's. Then stops.
    pub async fn finish(mut self, final_text: String) {
        let wait = {
            let mut page = self.shared.lock();
            page.text = Arc::new(final_text);
            page.version += 1;
            page.final_version = Some(page.version);
            final_wait(&page)
        };
        if let Some(wait) = wait {
            eprintln!(
                "loadgen: waiting up to {}s for Prometheus to read the final figures at http://{}/metrics",
                wait.as_secs_f64().ceil(),
                self.addr
            );
            let served = self.shared.final_served.notified();
            if tokio::time::timeout(wait, served).await.is_err() {
                eprintln!("loadgen: Prometheus did not read the final figures in time; its last values may be a second short");
            }
        }
        self.stop.cancel();
        let _ = (&mut self.server).await;
    }
}

/// A run that ended in an error drops its exporter: the port is freed.
impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// How long to wait for a last scrape: none if no scraper came. A scraper is
/// a client that says it is Prometheus, or that came back (a stray `curl`
/// comes once and is not waited for).
fn final_wait(page: &Page) -> Option<Duration> {
    if !page.prometheus && page.scrapes < 2 {
        return None;
    }
    let first = page.first_scrape?;
    let last = page.last_scrape?;
    let interval = match page.scrapes {
        0 | 1 => Duration::from_secs(15),
        n => (last - first) / (n - 1) as u32,
    };
    Some((interval * 2 + Duration::from_secs(1)).min(FINAL_WAIT_MAX))
}

#[derive(Clone)]
pub struct Publisher(Arc<Shared>);

impl Publisher {
    pub fn publish(&self, text: String) {
        let mut page = self.0.lock();
        if page.final_version.is_none() {
            page.text = Arc::new(text);
            page.version += 1;
        }
    }
}

async fn metrics(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    let prometheus = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("Prometheus/"));
    let text = {
        let mut page = shared.lock();
        page.prometheus |= prometheus;
        let now = Instant::now();
        page.first_scrape.get_or_insert(now);
        page.last_scrape = Some(now);
        page.scrapes += 1;
        if page.final_version == Some(page.version) {
            shared.final_served.notify_one();
        }
        page.text.clone()
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        String::clone(&text),
    )
}

async fn index() -> &'static str {
    "loadgen: this run's live figures are at /metrics (Prometheus text format)\n"
}
