//! One exchange's outcome, as every way of sending (a user's HTTP/1.1 or
//! HTTP/2 connection, the shared pool) hands it back to the user's redirect
//! and cookie loop: the answer, or why it failed and what to do next.

use super::headers::Headers;
use super::Failure;
use crate::metrics::FailureKind;

/// An answer as one exchange read it.
pub(super) struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub ttfb_us: u64,
    /// The connect and TLS handshake this exchange waited for, if it dialed.
    pub connect_us: Option<u64>,
    pub tls_us: Option<u64>,
}

/// An exchange that failed: why, whether sending again on a new connection
/// may help, and whether the connection can carry the next request.
pub(super) struct Failed {
    pub failure: Failure,
    pub retry: bool,
    pub keep: bool,
}

impl Failed {
    pub(super) fn new(kind: FailureKind, why: String, retry: bool, keep: bool) -> Failed {
        Failed {
            failure: Failure::new(kind, why),
            retry,
            keep,
        }
    }
}

/// The `Accept-Encoding` a run that asks for compression sends (unless the
/// task set its own).
pub(super) const ACCEPT_ENCODING: &str = "gzip, br";
