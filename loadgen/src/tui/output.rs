//! What the process prints while the dashboard is up: stdout and stderr are
//! redirected into a pipe (goose prints "N users launched." unasked; the
//! manager logs workers joining and leaving), so nothing scrolls the picture.
//! The lines are shown on the dashboard as they come and printed to stderr
//! once the normal screen is back.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The process's own stdout and stderr while they are redirected.
pub struct Redirect {
    /// Where the terminal really is: the dashboard draws here.
    pub terminal: File,
    saved_err: OwnedFd,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

/// Where stdout and stderr were before the redirect.
pub struct Saved {
    pub terminal: File,
    err: OwnedFd,
}

impl Saved {
    pub fn restore(&self) {
        let _ = rustix::stdio::dup2_stdout(&self.terminal);
        let _ = rustix::stdio::dup2_stderr(&self.err);
    }
}

/// Lines kept for printing after the dashboard closes.
const KEEP: usize = 1_000;

impl Redirect {
    /// Points fds 1 and 2 at a pipe; each line read from it is sent to `live`
    /// (a closed receiver is fine) and kept.
    pub fn start(live: Sender<String>) -> io::Result<Redirect> {
        let terminal = File::from(io::stdout().as_fd().try_clone_to_owned()?);
        let saved_err = io::stderr().as_fd().try_clone_to_owned()?;
        let (pipe_out, pipe_in) = io::pipe()?;
        rustix::stdio::dup2_stdout(&pipe_in)?;
        if let Err(e) = rustix::stdio::dup2_stderr(&pipe_in) {
            let _ = rustix::stdio::dup2_stdout(&terminal);
            return Err(e.into());
        }
        drop(pipe_in);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        let reader = std::thread::Builder::new()
            .name("loadgen-output".into())
            .spawn(move || {
                for line in BufReader::new(pipe_out).lines().map_while(Result::ok) {
                    let _ = live.send(line.clone());
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() < KEEP {
                        kept.push(line);
                    }
                }
            })?;
        Ok(Redirect {
            terminal,
            saved_err,
            lines,
            reader: Some(reader),
        })
    }

    /// Copies of where fds 1 and 2 were, to put them back from anywhere (a panic).
    pub fn saved(&self) -> io::Result<Saved> {
        Ok(Saved {
            terminal: self.terminal.try_clone()?,
            err: self.saved_err.try_clone()?,
        })
    }

    /// Points fds 1 and 2 back at where they were. Safe to call twice.
    pub fn restore(&self) {
        let _ = rustix::stdio::dup2_stdout(&self.terminal);
        let _ = rustix::stdio::dup2_stderr(&self.saved_err);
    }

    /// Restores, waits (briefly) for the last lines, and returns every line kept.
    pub fn finish(mut self) -> Vec<String> {
        self.restore();
        if let Some(reader) = self.reader.take() {
            // The pipe ends once no fd writes to it; a thread still holding a
            // copy of stdout must not hold the run up.
            let deadline = std::time::Instant::now() + Duration::from_millis(500);
            while !reader.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
