//! The live terminal dashboard, for local and distributed runs.
//!
//! - [`model`]: plain data: the per-second [`Snapshot`] and the [`Model`] it feeds.
//! - [`capture`]: a snapshot from the aggregator (runs on the run's tick, so cheap).
//! - [`view`]: screen, sort and help, and what keys do to them.
//! - [`render`]: a pure function of model and view onto a ratatui frame.
//! - [`term`]: the guard that gives the terminal back on drop and on panic.
//! - `output`: stdout and stderr redirected while the dashboard is up; `backend`:
//!   the terminal backend that never asks stdout where the cursor is.
//! - `app`: the dashboard's thread; [`Dashboard`] starts and closes it.

pub mod app;
mod backend;
pub mod capture;
pub mod model;
mod output;
pub mod render;
pub mod term;
pub mod view;

pub use app::SteerFn;
pub use capture::{capture, TickView};
pub use model::{Model, Snapshot, WorkerRow};

use crate::shape::Shape;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running dashboard. Closing it (or dropping it) joins its thread, which
/// leaves the alternate screen: do so before printing the final table.
pub struct Dashboard {
    tx: Sender<Snapshot>,
    stop: Arc<AtomicBool>,
    /// Hangs up when the thread ends, however it ends.
    ended: Receiver<()>,
    thread: Option<JoinHandle<io::Result<Vec<String>>>>,
}

/// How long closing waits for the thread. crossterm can spin forever reading
/// a terminal that hung up (tmux killed, ssh dropped); the run must still end.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The run's side: hands snapshots over without ever waiting.
#[derive(Clone)]
pub struct Publisher(Sender<Snapshot>);

impl Publisher {
    pub fn publish(&self, snap: Snapshot) {
        // A closed dashboard is no reason to disturb the run.
        let _ = self.0.send(snap);
    }
}

/// Where a distributed manager posts its workers' state; each tick copies it
/// into the snapshot. A local run leaves it empty.
#[derive(Clone, Default)]
pub struct WorkerBoard(Arc<Mutex<Vec<WorkerRow>>>);

impl WorkerBoard {
    pub fn set(&self, rows: Vec<WorkerRow>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = rows;
    }

    pub fn get(&self) -> Vec<WorkerRow> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Dashboard {
    /// Takes over the terminal and starts drawing `shape`'s run. `on_quit`
    /// runs once when the person presses q or Ctrl-C; `on_steer`, when the
    /// run may be steered, applies the steering keys' changes.
    pub fn start(
        shape: &Shape,
        on_quit: impl Fn() + Send + 'static,
        on_steer: Option<app::SteerFn>,
    ) -> io::Result<Dashboard> {
        let (printed_tx, printed) = mpsc::channel();
        let guard = term::TerminalGuard::enter(printed_tx)?;
        let (tx, rx) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let stop = Arc::new(AtomicBool::new(false));
        let ui = app::Loop {
            guard,
            model: Model::new(shape),
            rx,
            printed,
            stop: stop.clone(),
            on_quit: Box::new(on_quit),
            on_steer,
        };
        let thread = std::thread::Builder::new()
            .name("loadgen-tui".into())
            .spawn(move || {
                let _ended = ended_tx;
                ui.run()
            })?;
        Ok(Dashboard {
            tx,
            stop,
            ended,
            thread: Some(thread),
        })
    }

    pub fn publisher(&self) -> Publisher {
        Publisher(self.tx.clone())
    }

    /// Stops drawing and gives the terminal back; reports a drawing error, if any.
    pub fn close(mut self) -> io::Result<()> {
        self.join()
    }

    fn join(&mut self) -> io::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        if let Err(RecvTimeoutError::Timeout) = self.ended.recv_timeout(CLOSE_WAIT) {
            // Leave the thread behind (it ends with the process); restore here.
            self.thread = None;
            term::restore();
            return Err(io::Error::other(
                "the dashboard did not stop (terminal gone?)",
            ));
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => {
                // What was printed under the dashboard, now on the normal screen.
                for line in result? {
                    eprintln!("{line}");
                }
                Ok(())
            }
            Some(Err(_)) => Err(io::Error::other("the dashboard thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.join();
    }
}
