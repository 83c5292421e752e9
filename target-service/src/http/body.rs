//! Request bodies read whole, within `BODY_READ_TIMEOUT_MS` and `MAX_BODY_BYTES`,
//! before the request takes an in-flight slot.
//!
//! Without it a request took its slot as soon as its head arrived and kept it while
//! its body trickled in (or never came): 2,100 connections sending a login body at a
//! byte a second shed every other client with 503 for as long as they liked, and a
//! shed request's handler went on reading its body all the same. Now a slow body
//! costs a socket and a task, never a slot: past the deadline it gets 408, over the
//! limit 413, and either way the connection is closed (what is left of the body is
//! never read, so the connection cannot carry another request).

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::error::ApiError;
use crate::state::AppState;

/// Replaces the request's body with its bytes, read within the deadline and the limit.
pub async fn read_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.max_body_bytes;
    // A `Content-Length` over the limit is refused before a byte is read: hyper sends
    // `100 Continue` only once the body is polled, so a client that asked first
    // (`Expect: 100-continue`) learns of the refusal without uploading a gigabyte.
    if req.body().size_hint().lower() > limit as u64 {
        return closing(ApiError::BodyTooLarge(limit));
    }
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let deadline = state.config.body_read_timeout;
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(deadline, collect(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(refusal)) => return closing(refusal),
        Err(_) => return closing(ApiError::BodyTimeout(deadline.as_millis())),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The whole body, or why not: over `limit` bytes, or a connection that broke off.
async fn collect(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %e, "request body broke off");
            ApiError::BadRequest("the request body could not be read".into())
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::BodyTooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// `error`'s answer with `Connection: close`: the rest of the body stays unread.
pub fn closing(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
