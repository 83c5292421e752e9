//! loadgen: load tests written in Rust on goose, run as named shapes, measured
//! in HDR histograms, judged by thresholds for CI.
//!
//! How a run flows through the parts:
//!
//! 1. [`cli`] parses the command line; [`plan`] checks every option once into a
//!    typed [`plan::RunPlan`] (shape, scenario selection, rules, output, target).
//! 2. [`shape`] holds the plan of users over time: the named shapes, `plan:`,
//!    scaling and the exact split across workers.
//! 3. [`engine`] turns the plan's workload into users on goose, each request
//!    made through a [`author::Vu`] and recorded; one ticker drains the
//!    measurements every second.
//! 4. [`metrics`] records (per-thread HDR), snapshots (per second, mergeable),
//!    aggregates and computes the figures everything shows.
//! 5. [`judge`] decides: thresholds and profiles, the stress breaking point,
//!    the verdict, regressions against a baseline.
//! 6. [`report`] writes what a run leaves (`summary.json`, HTML, CSV, JUnit,
//!    Markdown, the hlog) and prints the console table; [`tui`] is the live
//!    dashboard.
//! 7. [`distributed`] spreads one run over worker processes: the manager
//!    splits the plan, workers run the same engine and stream snapshots back.
//!
//! [`faults`] runs a run's fault actions (`--at`) on its clock; [`observe`]
//! serves the live figures to Prometheus (`--prometheus`) and reads the
//! target's own metrics each second (`--scrape`).
//!
//! Crate-wide: [`error`] (failures and exit codes), [`units`] (every time, rate
//! and millisecond format), [`clock`] (UTC timestamps). `commands` holds one
//! thin module per CLI command; [`App`] hands a test crate's scenarios to them.

pub mod author;
pub mod cli;
pub mod client;
pub mod clock;
mod commands;
pub mod control;
pub mod distributed;
pub mod engine;
pub mod error;
pub mod faults;
pub mod judge;
pub mod metrics;
pub mod observe;
pub mod plan;
pub mod report;
pub mod shape;
pub mod tui;
pub mod units;

use author::feeder::Feeder;
pub use author::scenario::ScenarioDef;
use author::scenario::TaskFn;
use author::setup::SetupFn;
use clap::Parser;
pub use engine::bundled::{BundledTarget, Placement};
pub use error::Error;
use std::process::ExitCode;
use std::sync::Once;
use tokio_util::sync::CancellationToken;

/// What a load-test author writes, all in one import.
pub mod prelude {
    pub use crate::author::capture::{header, json, regex, Capture};
    pub use crate::author::feeder::{Exhausted, Feeder, Order, Row};
    pub use crate::author::measure::Measure;
    pub use crate::author::reply::Reply;
    pub use crate::author::scenario::{task_fn, ScenarioDef, TaskFn};
    pub use crate::author::setup::SetupFn;
    pub use crate::author::task_error::{TaskError, TaskResult};
    pub use crate::author::vu::Vu;
    pub use crate::client::Multipart;
    pub use crate::setup;
    pub use crate::shape::{Shape, Stage};
    pub use crate::task;
    pub use crate::{App, BundledTarget};
    pub use rand;
    pub use serde_json::{json, Value};
    pub use std::time::Duration;
}

/// A load test: its scenarios and, optionally, the service it targets by default.
#[derive(Clone, Default)]
pub struct App {
    pub scenarios: Vec<ScenarioDef>,
    pub target: Option<BundledTarget>,
    /// Where the bundled target serves from: a child process when run from
    /// [`App::main`], a task of this process when embedded ([`App::run_cli`]).
    pub placement: Placement,
    pub feeders: Vec<(String, Feeder)>,
    pub setup: Option<SetupFn>,
    pub teardown: Option<TaskFn>,
}

impl App {
    pub fn new() -> App {
        App::default()
    }

    pub fn scenario(mut self, scenario: ScenarioDef) -> App {
        self.scenarios.push(scenario);
        self
    }

    /// A feeder of rows users take with `vu.feed(name).await`; its file is read when
    /// a run starts (a missing or empty file is exit 2, naming it).
    pub fn feeder(mut self, name: &str, feeder: Feeder) -> App {
        self.feeders.push((name.to_string(), feeder));
        self
    }

    /// Once before any user starts (on the manager in a distributed run): its
    /// result is handed to every user (`vu.setup_data()`); its failure stops
    /// the run before load (exit 3).
    pub fn setup(mut self, setup: SetupFn) -> App {
        self.setup = Some(setup);
        self
    }

    /// Once after the load, even when the run was interrupted (clean up what
    /// the setup made); it reads `vu.setup_data()` too.
    pub fn teardown(mut self, teardown: TaskFn) -> App {
        self.teardown = Some(teardown);
        self
    }

    /// The service `run` starts when no --host is given.
    pub fn bundled_target(mut self, target: BundledTarget) -> App {
        self.target = Some(target);
        self
    }

    /// The binary's entry: parses the process's arguments, runs the command,
    /// returns its exit code. Ctrl-C and SIGTERM stop the run gracefully (its
    /// results are still written, exit 130); a second one exits at once.
    /// The bundled target serves from a child process of this executable (the
    /// same binary, started with `LOADGEN_SERVE_BUNDLED` set).
    pub fn main(mut self) -> ExitCode {
        if std::env::var_os(engine::bundled::SERVE_ENV).is_some() {
            return ExitCode::from(match &self.target {
                Some(target) => engine::bundled::serve_child(target),
                None => error::exit::USAGE,
            });
        }
        self.placement = Placement::ChildProcess;
        let interrupt = CancellationToken::new();
        on_signals(interrupt.clone());
        ExitCode::from(self.run_cli(std::env::args_os(), &interrupt))
    }

    /// Runs one command line in this process and returns its exit code; errors
    /// are printed. Cancelling `interrupt` stops a run as Ctrl-C does.
    pub fn run_cli<I, T>(self, args: I, interrupt: &CancellationToken) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = match cli::Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() {
                    error::exit::USAGE
                } else {
                    error::exit::PASSED
                };
            }
        };
        match self.execute(&cli, interrupt) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("loadgen: error: {e}");
                e.exit_code()
            }
        }
    }

    /// Runs a parsed command; its error (with its exit code) is the caller's to show.
    pub fn execute(&self, cli: &cli::Cli, interrupt: &CancellationToken) -> Result<u8, Error> {
        use cli::Command;
        match &cli.command {
            Command::Shapes(args) => commands::shapes::shapes(args),
            Command::Check(args) => commands::check::check(args),
            Command::Report(args) => commands::report::report(args),
            Command::Compare(args) => commands::compare::compare(args),
            Command::New(args) => commands::new::new(args),
            Command::Run(args) => block_on(commands::run::run(self, args, interrupt)),
            Command::Manager(args) => block_on(commands::manager::manager(self, args, interrupt)),
            Command::Worker(args) => block_on(commands::worker::worker(self, args, interrupt)),
        }
    }
}

/// Ctrl-C and SIGTERM: the first cancels `interrupt` (a graceful stop: users
/// stop, requests in flight get the graceful stop, the reports are written).
/// Signals within `TOGETHER` of the first are the same interrupt: GNU `timeout`
/// signals the process and then its group, so one timeout is two signals. A
/// later one hurries the exit: the process exits within `HURRY` whatever it is
/// doing, giving the reports that long; a third exits at once. Installed once
/// per process, before goose's own handler, which then stands aside.
#[allow(clippy::exit)]
fn on_signals(interrupt: CancellationToken) {
    const TOGETHER: std::time::Duration = std::time::Duration::from_secs(1);
    const HURRY: std::time::Duration = std::time::Duration::from_secs(10);
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        let mut first: Option<std::time::Instant> = None;
        let mut hurried = false;
        let _ = ctrlc::set_handler(move || {
            let Some(at) = first else {
                first = Some(std::time::Instant::now());
                eprintln!(
                    "\nloadgen: interrupted, stopping users and writing results (again to hurry)"
                );
                interrupt.cancel();
                return;
            };
            if at.elapsed() < TOGETHER {
                return;
            }
            if hurried {
                eprintln!("\nloadgen: interrupted again, exiting now");
                std::process::exit(error::exit::INTERRUPTED.into());
            }
            hurried = true;
            eprintln!(
                "\nloadgen: interrupted again: exiting within {} s (again to quit at once)",
                HURRY.as_secs()
            );
            std::thread::spawn(|| {
                std::thread::sleep(HURRY);
                eprintln!("loadgen: the results were not written in time; exiting");
                std::process::exit(error::exit::INTERRUPTED.into());
            });
        });
    });
}

/// Runs a command's future on a fresh multi-threaded runtime.
fn block_on<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => Err(Error::Run(format!("cannot start the async runtime: {e}"))),
    }
}
