//! What every run does around its load, local or distributed: the target
//! started (and stopped after), the HDR log and the display fed each second.

use super::display::{self, Observer};
use crate::control::{Controls, Steered};
use crate::engine::bundled::Running;
use crate::engine::steer::LivePlan;
use crate::engine::RunOutcome;
use crate::metrics::Aggregator;
use crate::observe::exporter::Exporter;
use crate::observe::exposition;
use crate::observe::scraper::Scraper;
use crate::observe::server_series::ServerMetrics;
use crate::plan::RunPlan;
use crate::report::{self, HlogWriter};
use crate::tui::WorkerBoard;
use crate::{clock, App, Error};
use std::future::Future;
use std::path::PathBuf;
use std::time::SystemTime;
use tokio_util::sync::CancellationToken;

/// The target of a started run: --host, or the bundled service started now.
pub(crate) struct Launch {
    pub host: String,
    pub bundled: Option<Running>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
}

impl Launch {
    pub async fn start(app: &App, plan: &RunPlan) -> Result<Launch, Error> {
        let started_at = clock::rfc3339(SystemTime::now());
        let (host, bundled) = match (&plan.host, &app.target) {
            (Some(host), _) => (host.clone(), None),
            (None, Some(target)) => {
                eprintln!(
                    "loadgen: starting the bundled {} on embedded defaults...",
                    target.name
                );
                let running = target.start(app.placement).await?;
                (running.url.clone(), Some(running))
            }
            (None, None) => {
                return Err(Error::Usage(
                    "--host is required: this load test bundles no target".into(),
                ))
            }
        };
        Ok(Launch {
            host,
            bundled,
            started_at,
        })
    }

    /// Stops the bundled service, if one was started.
    pub async fn stop(self) {
        if let Some(b) = self.bundled {
            b.stop().await;
        }
    }
}

/// One line on how users reach the target (the connection model, TLS and
/// the HTTP version the check found), and a warning when certificates are not
/// verified.
pub(crate) fn say_how_users_connect(plan: &RunPlan, reached: &crate::engine::target::Reached) {
    let client = &plan.load.client;
    let tls = if reached.tls { "TLS, " } else { "" };
    eprintln!(
        "loadgen: users connect {} ({tls}{}; --http {})",
        match client.connections {
            crate::client::ConnectionModel::PerUser => "with a connection each",
            crate::client::ConnectionModel::Shared => "through one shared pool",
        },
        reached.protocol,
        client.http.as_str()
    );
    if client.tls.insecure {
        eprintln!("loadgen: warning: --insecure: servers' certificates are NOT verified");
    }
}

/// What a watched run leaves: its outcome, its HDR log (or why the log
/// could not be written: then it is removed, rather than left cut short), and
/// the target's metrics as `--scrape` read them.
pub(crate) struct Watched {
    pub outcome: RunOutcome,
    /// The session, when the run was steered.
    pub steered: Option<Steered>,
    pub hlog: Result<PathBuf, report::Error>,
    pub server: Option<ServerMetrics>,
}

/// Which process watches the run: a local run, or a distributed manager.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Local,
    Manager,
}

/// Runs `load` with the run's observers (the HDR interval log, the display,
/// the Prometheus exporter and the scraper of the target's metrics), closes
/// the display before returning, so the final table prints on the normal screen.
pub(crate) async fn watched<F, Fut>(
    plan: &RunPlan,
    host: &str,
    role: Role,
    interrupt: &CancellationToken,
    load: F,
) -> Result<Watched, Error>
where
    F: FnOnce(Observer, WorkerBoard, Option<LivePlan>) -> Fut,
    Fut: Future<Output = Result<RunOutcome, Error>>,
{
    let exporter = match plan.observe.prometheus {
        Some(addr) => Some(Exporter::bind(addr).await.map_err(Error::Usage)?),
        None => None,
    };
    let hlog = HlogWriter::create(&plan.out, SystemTime::now())
        .map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(e) = &exporter {
        eprintln!("loadgen: Prometheus metrics at http://{}/metrics", e.addr);
    }
    let scrape = plan.observe.scrape_urls(host);
    let scraper =
        (!scrape.is_empty()).then(|| Scraper::start(&scrape, &plan.observe.scrape_metrics));
    let feed = hlog.feed();
    let controls = Controls::start(plan, files_ceiling(plan, role)).await?;
    let (mut progress, display) = display::start(
        plan,
        interrupt,
        scraper.as_ref().map(Scraper::feed),
        controls
            .as_ref()
            .map(|c| (c.steering.clone(), c.board.clone())),
    );
    let live_plan = controls.as_ref().map(|c| c.steering.plan().clone());
    let board = display.workers();
    let pages = Pages {
        info: run_info(plan, role),
        workers: (role == Role::Manager).then(|| board.clone()),
    };
    let publisher = exporter.as_ref().map(Exporter::publisher);
    let clock = scraper.as_ref().map(Scraper::clock);
    let live_pages = pages.clone();
    let on_tick: Observer = Box::new(move |tick| {
        if let Some(clock) = &clock {
            clock.tick(tick.elapsed_secs);
        }
        feed.tick(tick);
        if let Some(publisher) = &publisher {
            publisher.publish(live_pages.render(tick.aggregator, tick.elapsed_secs, false));
        }
        progress(tick);
    });
    let outcome = load(on_tick, board, live_plan).await;
    display.close();
    let steered = match (&outcome, controls) {
        (Ok(outcome), Some(controls)) => controls.finish(outcome.elapsed_secs),
        _ => None,
    };
    let server = match scraper {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    let outcome = outcome?;
    if let Some(exporter) = exporter {
        let page = pages.render(&outcome.aggregator, outcome.elapsed_secs, true);
        exporter.finish(page).await;
    }
    let hlog = hlog.finish(&outcome.aggregator).inspect_err(|_| {
        let _ = std::fs::remove_file(plan.out.join(report::hlog::FILE));
    });
    Ok(Watched {
        outcome,
        steered,
        hlog,
        server,
    })
}

/// The most connections a change may ask of this process: a local run's
/// users each hold one (two when the bundled service answers in-process is
/// not known here, so one); a manager's users are on its workers.
fn files_ceiling(plan: &RunPlan, role: Role) -> Option<u64> {
    if role != Role::Local {
        return None;
    }
    let per_user = plan.load.client.connections == crate::client::ConnectionModel::PerUser;
    let limit = crate::engine::files::raise_limit().unwrap_or(u64::MAX);
    Some(if per_user {
        limit.saturating_sub(crate::engine::files::RESERVED)
    } else {
        u64::MAX
    })
}

/// The exporter's pages: what the run is, and (a manager) its workers now.
#[derive(Clone)]
struct Pages {
    info: exposition::RunInfo,
    workers: Option<WorkerBoard>,
}

impl Pages {
    fn render(&self, aggregator: &Aggregator, elapsed_secs: f64, finished: bool) -> String {
        let view = exposition::View {
            aggregator,
            elapsed_secs,
            workers: self.workers.as_ref().map(|board| board.get().len()),
            finished,
        };
        exposition::render(&self.info, &view)
    }
}

fn run_info(plan: &RunPlan, role: Role) -> exposition::RunInfo {
    exposition::RunInfo {
        shape_name: plan.shape.name.clone(),
        shape: plan.shape.clone(),
        connections: plan.load.client.connections.as_str().to_string(),
        role: match role {
            Role::Local => "local",
            Role::Manager => "manager",
        },
        rules: plan.rules.clone(),
    }
}
