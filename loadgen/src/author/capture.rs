//! Captures declared on a request: a value taken from its answer (a JSON
//! pointer into the body, a header, a regex's first group) and kept in the
//! user's variables for later requests. A capture that finds nothing fails the
//! request as a check named after the capture.

use super::reply::Reply;
use regex::Regex;

/// Where a capture looks.
#[derive(Clone, Debug)]
pub enum Capture {
    /// A JSON pointer into the body (`/token`, `/items/0/id`).
    Json(String),
    /// A header of the answer (any case).
    Header(String),
    /// The first group of a regex over the body (the whole match without a group).
    Regex(Regex),
}

/// `json("/token")`: a value at a JSON pointer of the body.
pub fn json(pointer: &str) -> Capture {
    Capture::Json(pointer.to_string())
}

/// `header("Location")`: a header of the answer.
pub fn header(name: &str) -> Capture {
    Capture::Header(name.to_string())
}

/// `regex(r#"name="csrf" value="([^"]+)""#)`: its first group over the body.
/// Build it once (a `LazyLock`) when a task runs often: compiling costs.
pub fn regex(pattern: &str) -> Result<Capture, regex::Error> {
    Ok(Capture::Regex(Regex::new(pattern)?))
}

impl Capture {
    /// The value in `reply`, or why there is none.
    pub fn take(&self, reply: &Reply) -> Result<String, String> {
        match self {
            Capture::Json(pointer) => {
                let body: serde_json::Value = serde_json::from_slice(&reply.body)
                    .map_err(|e| format!("the body is not JSON ({e})"))?;
                match body.pointer(pointer) {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    Some(serde_json::Value::Null) | None => {
                        Err(format!("no {pointer} in the JSON"))
                    }
                    Some(other) => Ok(other.to_string()),
                }
            }
            Capture::Header(name) => reply
                .header(name)
                .map(str::to_string)
                .ok_or_else(|| format!("no {name} header")),
            Capture::Regex(re) => {
                let caps = re
                    .captures(reply.text())
                    .ok_or_else(|| format!("/{}/ does not match the body", re.as_str()))?;
                Ok(caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map_or("", |m| m.as_str())
                    .to_string())
            }
        }
    }
}
