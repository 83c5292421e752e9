//! What a virtual user's requests need from the run, and what each user keeps:
//! the run's recorder, client, default timeout and headers, feeders, setup
//! data and end-of-run cut; the user's own client (connection, cookies), its
//! data, variables, headers, id, and its arrival's lateness.

use super::feeder::Feeders;
use crate::client::{Client, UserClient};
use crate::engine::steer::Steer;
use crate::metrics::Recorder;
use goose::goose::{GooseUser, GooseUserData};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every virtual user of a run shares: where to record, how to reach the
/// target, the default request timeout and headers, the feeders, what the
/// run's setup returned, and the cut that ends requests in flight at the end
/// of the run (after `grace`, the graceful stop).
pub struct VuContext {
    pub recorder: Arc<Recorder>,
    pub client: Client,
    pub timeout: Duration,
    pub cut: CancellationToken,
    pub grace: Duration,
    /// `--header`: on every request, under the scenario's, user's and request's own.
    pub headers: Vec<(String, String)>,
    pub feeders: Feeders,
    /// What the run's setup returned (`null` without one).
    pub setup: Arc<serde_json::Value>,
    /// Stops the run gracefully (a feeder out of rows, told to stop it).
    pub halt: CancellationToken,
    /// This process's worker index in a distributed run (0 for a local run).
    pub worker: u32,
    /// A steered run's live plan: users hold before each task while it is paused.
    pub steer: Option<Steer>,
    /// Cancelled when the load stops starting work: a paused user then leaves.
    pub stopping: CancellationToken,
    next_user: AtomicU64,
}

/// Users' ids: each worker's start here, so ids are unique across a run.
pub const IDS_PER_WORKER: u64 = 1_000_000_000;

impl VuContext {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        recorder: Arc<Recorder>,
        client: Client,
        timeout: Duration,
        cut: CancellationToken,
        grace: Duration,
        headers: Vec<(String, String)>,
        feeders: Feeders,
        setup: Arc<serde_json::Value>,
        halt: CancellationToken,
        worker: u32,
    ) -> VuContext {
        VuContext {
            recorder,
            client,
            timeout,
            cut,
            grace,
            headers,
            feeders,
            setup,
            halt,
            worker,
            steer: None,
            stopping: CancellationToken::new(),
            next_user: AtomicU64::new(0),
        }
    }

    /// With a steered run's live plan, and the token of the load's end.
    pub fn steered(mut self, steer: Option<Steer>, stopping: CancellationToken) -> VuContext {
        self.steer = steer;
        self.stopping = stopping;
        self
    }

    /// Holds a user while the run is paused; `false` when the load ended meanwhile.
    pub(crate) async fn unpaused(&self) -> bool {
        match &self.steer {
            Some(steer) if steer.paused() => {
                let stop = self.stopping.child_token();
                let halt = self.halt.clone();
                tokio::select! {
                    go = steer.wait_while_paused(&stop) => go,
                    _ = halt.cancelled() => false,
                }
            }
            _ => true,
        }
    }

    /// A new user's id: unique across the run (workers count from their own base).
    pub(crate) fn new_user_id(&self) -> u64 {
        u64::from(self.worker) * IDS_PER_WORKER + self.next_user.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// What goose keeps for each user: its own client (connection, cookies) and
/// what its tasks keep between them. A clone, as goose makes of a user's
/// template, starts without a connection or an id.
pub(crate) struct UserState {
    pub http: Option<UserClient>,
    pub data: Option<Box<dyn GooseUserData>>,
    /// Open model: how late the current iteration started against its
    /// arrival's due time; each of its requests is timed from that due time.
    pub lag_us: Option<u64>,
    /// Values kept by captures and `set_var`, by name.
    pub vars: Vec<(String, String)>,
    /// Headers on every request of this user (`set_header`).
    pub headers: Vec<(String, String)>,
    pub id: Option<u64>,
}

impl Clone for UserState {
    fn clone(&self) -> Self {
        UserState {
            http: None,
            data: self.data.clone(),
            lag_us: None,
            vars: self.vars.clone(),
            headers: self.headers.clone(),
            id: None,
        }
    }
}

/// The user's state, created on first use.
pub(crate) fn state(user: &mut GooseUser) -> &mut UserState {
    if user.get_session_data::<UserState>().is_none() {
        user.set_session_data(UserState {
            http: None,
            data: None,
            lag_us: None,
            vars: Vec::new(),
            headers: Vec::new(),
            id: None,
        });
    }
    user.get_session_data_mut::<UserState>().expect("just set")
}

/// Sets `name` to `value` in a list of name/value pairs (any case of name: one entry).
pub(crate) fn set_pair(pairs: &mut Vec<(String, String)>, name: &str, value: String) {
    match pairs.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(pair) => pair.1 = value,
        None => pairs.push((name.to_string(), value)),
    }
}
