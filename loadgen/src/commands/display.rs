//! What a person sees while a run goes: the live dashboard when stdout is a
//! terminal (or `--tui`), else a status line every few seconds (`--headless`).

use crate::client::ConnectionModel;
use crate::control::state::StateBoard;
use crate::control::{Controls, Steering};
use crate::engine::Tick;
use crate::observe::scraper::ServerFeed;
use crate::plan::RunPlan;
use crate::report::console;
use crate::shape::Shape;
use crate::tui::model::ServerLine;
use crate::tui::{self, Dashboard, SteerFn, TickView, WorkerBoard};
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
/// The dashboard's q (or Ctrl-C in it) cancels `interrupt`, as Ctrl-C does;
/// with `controls`, its steering keys change the run, and each tick's
/// figures also go to the control API's state.
pub fn start(
    plan: &RunPlan,
    interrupt: &CancellationToken,
    server: Option<ServerFeed>,
    controls: Option<(Steering, StateBoard)>,
) -> (Observer, Display) {
    let workers = WorkerBoard::default();
    let rules = plan.rules.clone();
    let counted = plan.load.client.connections == ConnectionModel::PerUser;
    // Runs on the aggregator's tick: copy numbers, hand over, return.
    let snapshot = {
        let (board, interrupt, controls) = (workers.clone(), interrupt.clone(), controls.clone());
        move |tick: &Tick| {
            let mut snap = tui::capture(TickView {
                elapsed_secs: tick.elapsed_secs,
                aggregator: tick.aggregator,
                finalized: tick.finalized,
                rules: &rules,
                connections: counted,
                workers: board.get(),
                stopping: interrupt.is_cancelled().then(|| "interrupted".to_string()),
                faults: tick.faults,
                server: server.as_ref().map(server_lines).unwrap_or_default(),
            });
            if let Some((steering, state)) = &controls {
                Controls::annotate(steering, &mut snap);
                state.update(&snap, steering);
            }
            snap
        }
    };
    if plan.display.dashboard {
        let quit = interrupt.clone();
        let on_steer = controls.as_ref().map(|(steering, _)| {
            let steering = steering.clone();
            let steer: SteerFn = Box::new(move |command| {
                steering
                    .apply(&command, "dashboard")
                    .map(|e| format!("{} (from {} s)", e.what, e.from_secs))
            });
            steer
        });
        match Dashboard::start(&plan.shape, move || quit.cancel(), on_steer) {
            Ok(dashboard) => {
                let publisher = dashboard.publisher();
                let snapshot = snapshot;
                let on_tick = move |tick: &Tick| publisher.publish(snapshot(tick));
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
    let mut lines = status_lines(
        &plan.shape,
        controls.as_ref().map(|(s, _)| s.clone()),
        every,
        counted,
    );
    match controls {
        // The control API's state is fed without a dashboard too.
        Some(_) => {
            let snapshot = snapshot;
            let observer = move |tick: &Tick| {
                snapshot(tick);
                lines(tick);
            };
            (Box::new(observer), display)
        }
        None => (Box::new(lines), display),
    }
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

/// The headless observer: a status line every `every` seconds on stderr,
/// against the plan as steered when the run may be.
fn status_lines(
    shape: &Shape,
    steering: Option<Steering>,
    every: u64,
    connections: bool,
) -> impl FnMut(&Tick) + Send + 'static {
    let shape = shape.clone();
    move |tick: &Tick| {
        if (tick.second + 1).is_multiple_of(every) {
            let steered = steering.as_ref().map(|s| s.plan().now().shape);
            let shape = steered.as_ref().unwrap_or(&shape);
            eprintln!("{}", console::status_line(tick, shape, connections));
        }
    }
}
