//! How a run is told to stop. The command line hands in one cancellation token
//! (Ctrl-C, SIGTERM, the dashboard's q); each run derives its own from it for
//! its judges and its manager, and this is the one bridge to goose's killswitch.

use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// While a goose attack runs: once `stop` is cancelled, keeps goose's
/// process-wide killswitch set (goose clears it when an attack starts, so a
/// stop that came first is set again) until the returned task is aborted.
pub fn bridge_to_goose(stop: CancellationToken, reason: &'static str) -> KillswitchBridge {
    KillswitchBridge(tokio::spawn(async move {
        stop.cancelled().await;
        loop {
            goose::trigger_killswitch(reason);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
}

/// Ends the bridge when dropped, and clears the killswitch for the next attack.
pub struct KillswitchBridge(JoinHandle<()>);

impl Drop for KillswitchBridge {
    fn drop(&mut self) {
        self.0.abort();
        goose::reset_killswitch();
    }
}
