//! Faults on the run's timeline (`--at 2m 'redis-cli -p 6390 shutdown nosave'`):
//! what to run and when ([`FaultAction`]), what happened when it ran
//! ([`FaultEvent`], kept in summary.json), and the [`timeline`] that runs them
//! on the run's clock. How the target recovered from each is judged in
//! [`crate::judge::recovery`].

pub mod timeline;

use crate::units::{fmt_secs, parse_secs};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use timeline::Timeline;

/// A run's fault actions: started on its clock, watched, ended with it.
pub struct FaultRun {
    actions: Vec<FaultAction>,
    folder: PathBuf,
    timeline: Option<Timeline>,
}

impl FaultRun {
    /// The actions of a run whose logs go under `folder`; nothing runs yet.
    pub fn new(actions: &[FaultAction], folder: PathBuf) -> FaultRun {
        FaultRun {
            actions: actions.to_vec(),
            folder,
            timeline: None,
        }
    }

    /// Starts the actions on the run's clock (once).
    pub fn start(&mut self, started: Instant) {
        if !self.actions.is_empty() && self.timeline.is_none() {
            self.timeline = Some(Timeline::start(&self.actions, started, &self.folder));
        }
    }

    /// What has happened so far.
    pub fn events(&self) -> Vec<FaultEvent> {
        self.timeline
            .as_ref()
            .map_or_else(Vec::new, Timeline::events)
    }

    /// Ends them with the run (commands still running are stopped).
    pub async fn finish(self) -> Vec<FaultEvent> {
        match self.timeline {
            Some(t) => t.finish().await,
            None => Vec::new(),
        }
    }
}

/// A command to run at a moment of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultAction {
    /// Seconds from the run's start.
    pub at_secs: u64,
    /// Run by `sh -c`, in its own process group.
    pub command: String,
}

impl FaultAction {
    /// `--at WHEN COMMAND`, checked against the run's planned length.
    pub fn parse(when: &str, command: &str, run_secs: u64) -> Result<FaultAction, String> {
        let bad = |why: String| format!("--at {when} '{command}': {why}");
        let at_secs = parse_secs(when).map_err(bad)?;
        if command.trim().is_empty() {
            return Err(bad("the command is empty".into()));
        }
        if at_secs >= run_secs {
            return Err(bad(format!(
                "the run ends at {}: a fault must come before that",
                fmt_secs(run_secs)
            )));
        }
        Ok(FaultAction {
            at_secs,
            command: command.to_string(),
        })
    }

    /// Its log in the run folder, e.g. `faults/2-at-1m30s.log`.
    pub fn log_name(&self, number: usize) -> String {
        format!("faults/{number}-at-{}.log", fmt_secs(self.at_secs))
    }
}

/// What became of one fault action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// The moment asked for (`--at`), in seconds from the run's start.
    pub at_secs: u64,
    pub command: String,
    /// When it started, seconds from the run's start (`None`: it never ran).
    pub started_secs: Option<f64>,
    /// When it ended (`None`: it never ran, or was still running at the end).
    pub finished_secs: Option<f64>,
    /// Its exit status, when it exited.
    pub exit_code: Option<i32>,
    /// In words: `exit 0`, `exit 1`, `killed by signal 9`, `could not start:
    /// ...`, `still running at the end of the run: stopped`, `not run: ...`.
    pub outcome: String,
    /// Its output (stdout and stderr), relative to the run folder.
    pub log: Option<String>,
}

impl FaultEvent {
    /// The second of the run it started in.
    pub fn second(&self) -> Option<u64> {
        self.started_secs.map(|s| s.floor() as u64)
    }

    /// A short label for charts: `1: redis-cli -p 6390 shutdown` (cut at 40 characters).
    pub fn label(&self, number: usize) -> String {
        let mut text: String = self.command.chars().take(40).collect();
        if text.len() < self.command.len() {
            text.push('…');
        }
        format!("{number}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_checked_against_the_run() {
        let a = FaultAction::parse("1m30s", "kill -STOP 123", 600).unwrap();
        assert_eq!(a.at_secs, 90);
        assert_eq!(a.log_name(2), "faults/2-at-1m30s.log");
        for (when, cmd, says) in [
            ("soon", "true", "a number must come before"),
            ("10s", "  ", "the command is empty"),
            ("10m", "true", "the run ends at 10m"),
        ] {
            let err = FaultAction::parse(when, cmd, 600).unwrap_err();
            assert!(err.contains(says) && err.contains("--at"), "{err}");
        }
    }

    #[test]
    fn a_label_is_short() {
        let e = FaultEvent {
            command: "x".repeat(50),
            ..Default::default()
        };
        assert_eq!(e.label(3).chars().count(), 3 + 40 + 1);
    }
}
