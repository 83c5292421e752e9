//! Runs a run's fault actions on its clock: each command at its moment from the
//! run's start, by `sh -c` in its own process group, its output into the run
//! folder, its exit status recorded. Commands still running when the run ends
//! are stopped (SIGTERM to the group, SIGKILL after a grace period) and said so.

use super::{FaultAction, FaultEvent};
use crate::units::fmt_secs;
use rustix::process::{kill_process_group, Pid, Signal};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::task::JoinHandle;

/// How long a command still running at the end gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

#[derive(Default)]
struct State {
    events: Vec<FaultEvent>,
    /// Process group of each command running now, by its index.
    running: BTreeMap<usize, u32>,
    /// Set when the run ends: no command starts after it.
    closed: bool,
}

/// The fault actions of one run, started on its clock.
pub struct Timeline {
    state: Arc<Mutex<State>>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Timeline {
    /// Schedules every action from `started`; logs go under `folder`.
    pub fn start(actions: &[FaultAction], started: Instant, folder: &Path) -> Timeline {
        let events = actions
            .iter()
            .map(|a| FaultEvent {
                at_secs: a.at_secs,
                command: a.command.clone(),
                outcome: "not run yet".into(),
                ..FaultEvent::default()
            })
            .collect();
        let state = Arc::new(Mutex::new(State {
            events,
            ..State::default()
        }));
        let tasks = actions
            .iter()
            .enumerate()
            .map(|(i, action)| {
                let (state, action) = (state.clone(), action.clone());
                let log = (folder.join(action.log_name(i + 1)), action.log_name(i + 1));
                tokio::spawn(async move {
                    let at = started + Duration::from_secs(action.at_secs);
                    tokio::time::sleep_until(at.into()).await;
                    run_one(&state, i, &action, log, started).await;
                })
            })
            .collect();
        Timeline {
            state,
            tasks,
            started,
        }
    }

    /// What has happened so far, in the order given.
    pub fn events(&self) -> Vec<FaultEvent> {
        lock(&self.state).events.clone()
    }

    /// Ends the timeline with the run: actions not yet due are marked not run,
    /// commands still running are stopped. Returns every event.
    pub async fn finish(self) -> Vec<FaultEvent> {
        let ended = self.started.elapsed().as_secs_f64();
        let (running, not_run): (BTreeMap<usize, u32>, Vec<usize>) = {
            let mut state = lock(&self.state);
            state.closed = true;
            let mut not_run = Vec::new();
            for (i, e) in state.events.iter_mut().enumerate() {
                if e.started_secs.is_none() {
                    e.outcome = format!("not run: the run ended at {}", fmt_secs(ended as u64));
                    not_run.push(i);
                }
            }
            (state.running.clone(), not_run)
        };
        signal(&running.values().copied().collect::<Vec<_>>(), Signal::TERM);
        let deadline = Instant::now() + GRACE;
        for (i, mut task) in self.tasks.into_iter().enumerate() {
            if not_run.contains(&i) {
                task.abort();
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, &mut task).await.is_err() {
                let still: Vec<u32> = lock(&self.state).running.values().copied().collect();
                signal(&still, Signal::KILL);
                let _ = task.await;
            }
        }
        let mut state = lock(&self.state);
        for &i in running.keys() {
            let e = &mut state.events[i];
            e.outcome = format!(
                "still running at the end of the run: stopped ({})",
                e.outcome
            );
        }
        state.events.clone()
    }
}

fn signal(groups: &[u32], signal: Signal) {
    for &group in groups {
        if let Some(pid) = Pid::from_raw(group as i32) {
            let _ = kill_process_group(pid, signal);
        }
    }
}

/// Starts action `i` (unless the run has ended), waits for it, records how it went.
async fn run_one(
    state: &Mutex<State>,
    i: usize,
    action: &FaultAction,
    (log_path, log_name): (PathBuf, String),
    started: Instant,
) {
    let mut child = {
        let mut s = lock(state);
        if s.closed {
            return;
        }
        let now = started.elapsed().as_secs_f64();
        let spawned = open_log(&log_path).and_then(|out| {
            let err = out.try_clone()?;
            Command::new("sh")
                .arg("-c")
                .arg(&action.command)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .kill_on_drop(false)
                .spawn()
        });
        let event = &mut s.events[i];
        event.started_secs = Some(now);
        match spawned {
            Ok(child) => {
                event.outcome = "running".into();
                event.log = Some(log_name.clone());
                if let Some(pid) = child.id() {
                    s.running.insert(i, pid);
                }
                eprintln!(
                    "loadgen: {}: fault {}: running '{}' (output in {})",
                    fmt_secs(now as u64),
                    i + 1,
                    action.command,
                    log_path.display()
                );
                child
            }
            Err(e) => {
                event.outcome = format!("could not start: {e}");
                eprintln!(
                    "loadgen: fault {} ('{}') could not start: {e}",
                    i + 1,
                    action.command
                );
                return;
            }
        }
    };
    let status = child.wait().await;
    let mut s = lock(state);
    s.running.remove(&i);
    let now = started.elapsed().as_secs_f64();
    let event = &mut s.events[i];
    event.finished_secs = Some(now);
    event.exit_code = status.as_ref().ok().and_then(ExitStatus::code);
    event.outcome = match status {
        Ok(st) => describe(st),
        Err(e) => format!("lost: {e}"),
    };
    eprintln!(
        "loadgen: {}: fault {} ('{}'): {}",
        fmt_secs(now as u64),
        i + 1,
        action.command,
        event.outcome
    );
}

fn open_log(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    File::create(path)
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("loadgen-faults-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn commands_run_at_their_moment_with_output_and_status_recorded() {
        let dir = folder("ran");
        let actions = [
            FaultAction::parse("1s", "echo first; exit 3", 60).unwrap(),
            FaultAction::parse("0s", "echo zero >&2", 60).unwrap(),
            FaultAction::parse("2s", "sleep 30", 60).unwrap(),
            FaultAction::parse("50s", "true", 60).unwrap(),
        ];
        let started = Instant::now();
        let timeline = Timeline::start(&actions, started, &dir);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let seen = timeline.events();
        assert_eq!(seen[2].outcome, "running");
        let events = timeline.finish().await;
        assert!(
            started.elapsed() < Duration::from_secs(2 + 3 + 2),
            "stopped, not waited for"
        );
        let first = &events[0];
        assert_eq!(
            (first.exit_code, first.outcome.as_str()),
            (Some(3), "exit 3")
        );
        let at = first.started_secs.unwrap();
        assert!((1.0..1.5).contains(&at), "started at {at}");
        let log = std::fs::read_to_string(dir.join(first.log.as_ref().unwrap())).unwrap();
        assert_eq!(log, "first\n");
        let zero = std::fs::read_to_string(dir.join("faults/2-at-0s.log")).unwrap();
        assert_eq!(zero, "zero\n");
        assert_eq!(
            events[2].outcome,
            "still running at the end of the run: stopped (killed by signal 15)"
        );
        assert!(
            events[3]
                .outcome
                .starts_with("not run: the run ended at 2s"),
            "{:?}",
            events[3]
        );
        assert_eq!(events[3].started_secs, None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_command_that_cannot_log_does_not_run() {
        let dir = folder("unwritable");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("faults"), "a file where the folder should be").unwrap();
        let actions = [FaultAction::parse("0s", "touch should-not-exist", 60).unwrap()];
        let timeline = Timeline::start(&actions, Instant::now(), &dir);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let events = timeline.finish().await;
        assert!(
            events[0].outcome.starts_with("could not start"),
            "{:?}",
            events[0]
        );
        assert_eq!(events[0].log, None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
