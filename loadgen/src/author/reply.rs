//! What a request got back: status, body, latency, and whether it failed.

use super::task_error::TaskError;
use crate::client::Headers;

/// An answer: status, headers, the whole body (decoded when it came
/// compressed), where it came from after redirects, and how long it took.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The URL of the answer, when redirects were followed to it.
    pub url: Option<String>,
    /// What the user waited, in microseconds (from the arrival's due time in
    /// the open model), connect and handshake included when it opened its
    /// connection.
    pub latency_us: u64,
    /// From the send to the answer's first byte (per-user connections).
    pub ttfb_us: Option<u64>,
    /// When this request opened its connection: the connect and the TLS
    /// handshake it waited for (per-user connections).
    pub connect_us: Option<u64>,
    pub tls_us: Option<u64>,
    /// Why the request counted as failed, if it did.
    pub failure: Option<String>,
}

impl Reply {
    /// The first value of a header (any case): `reply.header("location")`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Every value of a header (any case), in order (`set-cookie`, say).
    pub fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.get_all(name)
    }

    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }

    /// The body as JSON of type `T`; a body that is not is the task's failure.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, TaskError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| TaskError::msg(format!("response is not the expected JSON: {e}")))
    }
}
