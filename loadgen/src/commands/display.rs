//! What a person sees while a run goes: the live dashboard when stdout is a
//! terminal (or `--tui`), else a status line every few seconds (`--headless`).

use crate::client::ConnectionModel;
use crate::engine::Tick;
use crate::observe::scraper::ServerFeed;
use crate::plan::RunPlan;
use crate::report::console;
use crate::shape::Shape;
use crate::tui::model::ServerLine;
use crate::tui::{self, Dashboard, TickView, WorkerBoard};
use tokio_util::sync::CancellationToken;

/// The per-second observer the local run (or the manager) calls.
pub type Observer = Box<dyn FnMut(&Tick) + Send + 'static>;

/// The dashboard, if one is up. Close it before printing the final table, so
/// the table lands on the normal screen; dropping it closes it too.
pub struct Display {
    dashboard: Option<Dashboard>,
    workers: WorkerBoard,
}

impl Display {
    /// Where `loadgen manager` posts its workers' state for the workers screen.
    pub fn workers(&self) -> WorkerBoard {
        self.workers.clone()
    }

    pub fn close(self) {
        if let Some(d) = self.dashboard {
            if let Err(e) = d.close() {
                eprintln!("loadgen: the dashboard failed: {e}");
            }
        }
    }
}

/// The observer for this run's display, and the display to close when it ends.
/// The dashboard's q (or Ctrl-C in it) cancels `interrupt`, as Ctrl-C does.
pub fn start(
    plan: &RunPlan,
    interrupt: &CancellationToken,
    server: Option<ServerFeed>,
) -> (Observer, Display) {
    let workers = WorkerBoard::default();
    if plan.display.dashboard {
        let quit = interrupt.clone();
        match Dashboard::start(&plan.shape, move || quit.cancel()) {
            Ok(dashboard) => {
                let publisher = dashboard.publisher();
                let rules = plan.rules.clone();
                let counted = plan.load.client.connections == ConnectionModel::PerUser;
                let board = workers.clone();
                let interrupt = interrupt.clone();
                // Runs on the aggregator's tick: copy numbers, hand over, return.
                let on_tick = move |tick: &Tick| {
                    publisher.publish(tui::capture(TickView {
                        elapsed_secs: tick.elapsed_secs,
                        aggregator: tick.aggregator,
                        finalized: tick.finalized,
                        rules: &rules,
                        connections: counted,
                        workers: board.get(),
                        stopping: interrupt.is_cancelled().then(|| "interrupted".to_string()),
                        faults: tick.faults,
                        server: server.as_ref().map(server_lines).unwrap_or_default(),
                    }))
                };
                let display = Display {
                    dashboard: Some(dashboard),
                    workers,
                };
                return (Box::new(on_tick), display);
            }
            Err(e) => eprintln!("loadgen: no dashboard ({e}); printing status lines instead"),
        }
    }
    let display = Display {
        dashboard: None,
        workers,
    };
    let every = plan.display.status_every_secs;
    let counted = plan.load.client.connections == ConnectionModel::PerUser;
    (Box::new(status_lines(&plan.shape, every, counted)), display)
}

/// What the dashboard draws of the target's metrics, summed over its instances.
fn server_lines(feed: &ServerFeed) -> Vec<ServerLine> {
    [
        ("in-flight", "http_requests_in_flight"),
        ("shed/s", "http_requests_shed_total"),
        ("limited/s", "http_requests_rate_limited_total"),
    ]
    .into_iter()
    .map(|(name, metric)| ServerLine {
        name: name.into(),
        points: feed.summed(metric),
    })
    .filter(|line| !line.points.is_empty())
    .collect()
}

/// The headless observer: a status line every `every` seconds on stderr.
fn status_lines(
    shape: &Shape,
    every: u64,
    connections: bool,
) -> impl FnMut(&Tick) + Send + 'static {
    let shape = shape.clone();
    move |tick: &Tick| {
        if (tick.second + 1).is_multiple_of(every) {
            eprintln!("{}", console::status_line(tick, &shape, connections));
        }
    }
}
