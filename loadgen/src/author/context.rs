//! What a virtual user's requests need from the run, and what each user keeps:
//! the run's recorder, client, default timeout and end-of-run cut; the user's
//! own client (connection, cookies), its data, and its arrival's lateness.

use crate::client::{Client, UserClient};
use crate::metrics::Recorder;
use goose::goose::{GooseUser, GooseUserData};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every virtual user of a run shares: where to record, how to reach the
/// target, the default request timeout, and the cut that ends requests in
/// flight at the end of the run (after `grace`, the graceful stop).
pub struct VuContext {
    pub recorder: Arc<Recorder>,
    pub client: Client,
    pub timeout: Duration,
    pub cut: CancellationToken,
    pub grace: Duration,
}

/// What goose keeps for each user: its own client (connection, cookies) and
/// the data its tasks keep between them (`Vu::data`). A clone, as goose makes
/// of a user's template, starts without a connection.
pub(crate) struct UserState {
    pub http: Option<UserClient>,
    pub data: Option<Box<dyn GooseUserData>>,
    /// Open model: how late the current iteration started against its
    /// arrival's due time; each of its requests is timed from that due time.
    pub lag_us: Option<u64>,
}

impl Clone for UserState {
    fn clone(&self) -> Self {
        UserState {
            http: None,
            data: self.data.clone(),
            lag_us: None,
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
        });
    }
    user.get_session_data_mut::<UserState>().expect("just set")
}
