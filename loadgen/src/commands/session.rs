//! What every run does around its load, local or distributed: the target
//! started (and stopped after), the HDR log and the display fed each second.

use super::display::{self, Observer};
use crate::engine::bundled::Running;
use crate::engine::RunOutcome;
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

/// What a watched run leaves: its outcome, and its HDR log (or why the log
/// could not be written: then it is removed, rather than left cut short).
pub(crate) struct Watched {
    pub outcome: RunOutcome,
    pub hlog: Result<PathBuf, report::Error>,
}

/// Runs `load` with the run's observers (the HDR interval log and the display),
/// closes the display before returning, so the final table prints on the
/// normal screen.
pub(crate) async fn watched<F, Fut>(
    plan: &RunPlan,
    interrupt: &CancellationToken,
    load: F,
) -> Result<Watched, Error>
where
    F: FnOnce(Observer, WorkerBoard) -> Fut,
    Fut: Future<Output = Result<RunOutcome, Error>>,
{
    let hlog = HlogWriter::create(&plan.out, SystemTime::now())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let feed = hlog.feed();
    let (mut progress, display) = display::start(plan, interrupt);
    let board = display.workers();
    let on_tick: Observer = Box::new(move |tick| {
        feed.tick(tick);
        progress(tick);
    });
    let outcome = load(on_tick, board).await;
    display.close();
    let outcome = outcome?;
    let hlog = hlog.finish(&outcome.aggregator).inspect_err(|_| {
        let _ = std::fs::remove_file(plan.out.join(report::hlog::FILE));
    });
    Ok(Watched { outcome, hlog })
}
