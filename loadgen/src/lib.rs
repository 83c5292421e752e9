//! loadgen: load tests written in Rust on goose, run as named shapes, measured
//! in HDR histograms, judged by thresholds for CI.
//!
//! - [`shape`]: stages of users over time, the four named shapes, splitting.
//! - [`metrics`]: the recorder (per request), snapshots (per second), the aggregator.
//! - [`vu`] and [`scenario`]: what test authors write: personas of tasks on a `Vu`.
//! - [`runner`]: a shape on goose in this process, ticked every second.
//! - [`threshold`] and [`stress`]: pass/fail rules and the breaking-point detector.
//! - [`summary`] and [`console`]: what a run leaves and prints.
//! - [`tui`]: the live dashboard (model, pure render, terminal guard).
//! - [`report`]: the run folder's HTML, CSV, JUnit, Markdown and hlog files; baselines.
//! - [`App`]: hands a test crate's scenarios to the CLI (`run`, `shapes`, `check`).

pub mod bundled;
pub mod cli;
pub mod clock;
mod commands;
pub mod console;
pub mod distributed;
pub mod duration;
pub mod error;
pub mod live;
pub mod metrics;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shape;
pub mod shape_print;
pub mod stress;
pub mod summary;
pub mod think;
pub mod threshold;
pub mod tui;
pub mod vu;

pub use bundled::BundledTarget;
pub use error::Error;
pub use scenario::ScenarioDef;

use clap::Parser;
use std::process::ExitCode;

/// What a load-test author writes, all in one import.
pub mod prelude {
    pub use crate::scenario::{task_fn, ScenarioDef, TaskFn};
    pub use crate::shape::{Shape, Stage};
    pub use crate::task;
    pub use crate::vu::{Reply, TaskError, TaskResult, Vu};
    pub use crate::{App, BundledTarget};
    pub use std::time::Duration;
}

/// A load test: its scenarios and, optionally, the service it targets by default.
#[derive(Clone, Default)]
pub struct App {
    pub scenarios: Vec<ScenarioDef>,
    pub target: Option<BundledTarget>,
}

impl App {
    pub fn new() -> App {
        App::default()
    }

    pub fn scenario(mut self, scenario: ScenarioDef) -> App {
        self.scenarios.push(scenario);
        self
    }

    /// The service `run` starts when no --host is given.
    pub fn bundled_target(mut self, target: BundledTarget) -> App {
        self.target = Some(target);
        self
    }

    /// Parses the process's arguments, runs the command, returns its exit code.
    pub fn main(self) -> ExitCode {
        ExitCode::from(self.run_cli(std::env::args_os()))
    }

    pub fn run_cli<I, T>(self, args: I) -> u8
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
        let result = match &cli.command {
            cli::Command::Shapes(args) => commands::shapes::shapes(args),
            cli::Command::Manager(args) => block_on(commands::manager::manager(&self, args)),
            cli::Command::Worker(args) => block_on(commands::worker::worker(&self, args)),
            cli::Command::Check(args) => commands::check::check(args),
            cli::Command::Report(args) => commands::report::report(args),
            cli::Command::Compare(args) => commands::compare::compare(args),
            cli::Command::Run(args) => block_on(commands::run::run(&self, args)),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("loadgen: error: {e}");
                e.exit_code()
            }
        }
    }
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
