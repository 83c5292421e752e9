//! What a person sees while a run goes: the live dashboard when stdout is a
//! terminal (or `--tui`), else a status line every few seconds (`--headless`).

use crate::cli::RunArgs;
use crate::console;
use crate::runner::{self, Tick};
use crate::shape::Shape;
use crate::threshold::Rule;
use crate::tui::{self, Dashboard, TickView, WorkerBoard};
use std::io::IsTerminal;

/// The per-second observer the runner (or the manager) calls.
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

/// Whether this run shows the dashboard: forced by a flag, else when stdout is a terminal.
pub fn wants_tui(args: &RunArgs) -> bool {
    args.tui || (!args.headless && std::io::stdout().is_terminal())
}

/// The observer for this run's output mode, and the display to close when it ends.
pub fn start(args: &RunArgs, shape: &Shape, rules: &[Rule]) -> (Observer, Display) {
    let workers = WorkerBoard::default();
    if wants_tui(args) {
        match Dashboard::start(shape, runner::interrupt) {
            Ok(dashboard) => {
                let publisher = dashboard.publisher();
                let rules = rules.to_vec();
                let board = workers.clone();
                // Runs on the aggregator's tick: copy numbers, hand over, return.
                let on_tick = move |tick: &Tick| {
                    publisher.publish(tui::capture(TickView {
                        elapsed_secs: tick.elapsed_secs,
                        aggregator: tick.aggregator,
                        finalized: tick.finalized,
                        rules: &rules,
                        workers: board.get(),
                        stopping: runner::interrupted().then(|| "interrupted".to_string()),
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
    (Box::new(reporter(args, shape)), display)
}

/// The headless observer: a status line every `--status-every` seconds on stderr.
pub fn reporter(args: &RunArgs, shape: &Shape) -> impl FnMut(&Tick) + Send + 'static {
    let every = args.status_every.max(1);
    let shape = shape.clone();
    move |tick: &Tick| {
        if (tick.second + 1).is_multiple_of(every) {
            let planned = shape.users_at(tick.second as f64 + 1.0);
            eprintln!(
                "{}",
                console::status_line(tick, shape.total_secs(), planned)
            );
        }
    }
}
