//! What a request got back: status, body, latency, and whether it failed.

use super::task_error::TaskError;

/// A response: status, headers' content type, the whole body, and how long it took.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub latency_us: u64,
    /// Why the request counted as failed, if it did.
    pub failure: Option<String>,
}

impl Reply {
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
