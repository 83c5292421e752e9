//! How a workload's load ends, on time whatever the users do: at the plan's
//! end (or when halted) users stop starting work; requests still in flight get
//! the graceful stop, then are cut (each recorded as cancelled); users that
//! outlive that are halted, and the load is given up on a moment later.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// After the cut, how long users have to notice before they are halted.
const HALT_AFTER_CUT: Duration = Duration::from_secs(2);
/// After the cut, how long the load may take to end before it is given up on.
pub const GIVE_UP_AFTER_CUT: Duration = Duration::from_secs(5);

/// The default graceful stop (`--graceful-stop`): what a request in flight at
/// the end gets to finish.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// The end of one workload's load.
pub struct Ending {
    /// Cancelled when the load stops starting work (the plan's end, or the halt).
    pub stopping: CancellationToken,
    /// Cancelled when requests in flight must end now.
    pub cut: CancellationToken,
    /// When the load stopped starting work: the plan's end, or the halt.
    stopped_at: Arc<Mutex<Option<Instant>>>,
    watcher: Option<JoinHandle<()>>,
}

impl Ending {
    /// An ending not yet watched: its cut can be handed to the users first.
    pub fn new() -> Ending {
        Ending {
            stopping: CancellationToken::new(),
            cut: CancellationToken::new(),
            stopped_at: Arc::new(Mutex::new(None)),
            watcher: None,
        }
    }

    /// Watches for the plan's end (`plan_end`) or `halt`, then cuts requests
    /// in flight after `grace`, and halts users still going after that.
    pub fn watch(&mut self, halt: &CancellationToken, plan_end: Instant, grace: Duration) {
        self.watch_moving(halt, watch::channel(plan_end).1, grace);
    }

    /// As [`Ending::watch`], for a plan whose end may move while it runs (a
    /// steered run): the latest end sent on `plan_end` counts.
    pub fn watch_moving(
        &mut self,
        halt: &CancellationToken,
        mut plan_end: watch::Receiver<Instant>,
        grace: Duration,
    ) {
        let (halt, cut, stopped_at) = (halt.clone(), self.cut.clone(), self.stopped_at.clone());
        let stopping = self.stopping.clone();
        self.watcher = Some(tokio::spawn(async move {
            let end = loop {
                let end = *plan_end.borrow_and_update();
                tokio::select! {
                    _ = halt.cancelled() => break end,
                    _ = tokio::time::sleep_until(end.into()) => break end,
                    moved = plan_end.changed() => {
                        if moved.is_err() {
                            // No more moves: wait for this end or the halt.
                            tokio::select! {
                                _ = halt.cancelled() => {}
                                _ = tokio::time::sleep_until(end.into()) => {}
                            }
                            break end;
                        }
                    }
                }
            };
            stopping.cancel();
            let now = tokio::time::Instant::now().into_std();
            *stopped_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(now.min(end));
            tokio::time::sleep(grace).await;
            cut.cancel();
            tokio::time::sleep(HALT_AFTER_CUT).await;
            if !halt.is_cancelled() {
                eprintln!("loadgen: users were still running after the plan's end: stopping them");
                halt.cancel();
            }
        }));
    }

    /// Waits for the cut, then for `GIVE_UP_AFTER_CUT`: the latest the load
    /// may end. Never returns before the plan's end and its grace.
    pub async fn given_up(&self) {
        self.cut.cancelled().await;
        tokio::time::sleep(GIVE_UP_AFTER_CUT).await;
    }

    /// When the load stopped starting work (`None` while it goes on).
    pub fn stopped_at(&self) -> Option<Instant> {
        *self.stopped_at.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Ending {
    fn default() -> Self {
        Ending::new()
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_plan_end_cuts_after_the_grace_and_halts_after_that() {
        let halt = CancellationToken::new();
        let start = tokio::time::Instant::now().into_std();
        let mut ending = Ending::new();
        ending.watch(
            &halt,
            start + Duration::from_secs(3),
            Duration::from_secs(2),
        );
        tokio::time::sleep(Duration::from_millis(4_900)).await;
        assert!(!ending.cut.is_cancelled());
        assert_eq!(ending.stopped_at(), Some(start + Duration::from_secs(3)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(ending.cut.is_cancelled() && !halt.is_cancelled());
        tokio::time::sleep(HALT_AFTER_CUT).await;
        assert!(halt.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_moved_end_is_the_one_kept() {
        let halt = CancellationToken::new();
        let start = tokio::time::Instant::now().into_std();
        let (tx, rx) = watch::channel(start + Duration::from_secs(3));
        let mut ending = Ending::new();
        ending.watch_moving(&halt, rx, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(start + Duration::from_secs(10)).unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !ending.stopping.is_cancelled(),
            "the old end passed unheeded"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(ending.stopping.is_cancelled());
        assert_eq!(ending.stopped_at(), Some(start + Duration::from_secs(10)));
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_halt_ends_the_load_early_with_the_same_grace() {
        let halt = CancellationToken::new();
        let start = tokio::time::Instant::now().into_std();
        let mut ending = Ending::new();
        ending.watch(
            &halt,
            start + Duration::from_secs(60),
            Duration::from_secs(1),
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        halt.cancel();
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert!(ending.cut.is_cancelled());
        let stopped = ending.stopped_at().unwrap();
        assert_eq!(stopped.duration_since(start).as_secs(), 2);
    }
}
