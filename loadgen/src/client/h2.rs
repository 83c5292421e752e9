//! HTTP/2 for a user's own connection (the h2 crate): one connection per user
//! per origin, a stream per request. The connection's frames are driven by a
//! small task of its own (pings, flow control and GOAWAY need answering while
//! the user thinks); the user's task sends and reads its streams. A stream
//! dropped half way is reset by h2, so the connection stays usable.

use super::body::Body;
use super::headers::Headers;
use super::stream::Stream;
use crate::metrics::ConnectionMeter;
use bytes::Bytes;
use futures_util::StreamExt;
use h2::client::SendRequest;
use h2::SendStream;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinHandle;

/// A user's HTTP/2 connection.
pub struct H2Conn {
    send: SendRequest<Bytes>,
    driver: JoinHandle<()>,
    meter: Arc<ConnectionMeter>,
}

impl Drop for H2Conn {
    fn drop(&mut self) {
        self.driver.abort();
        self.meter.closed();
    }
}

/// What a stream got back.
pub struct H2Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub ttfb_us: u64,
}

/// Why a stream failed.
pub enum H2Error {
    /// The server refused the stream before working on it (GOAWAY, or
    /// REFUSED_STREAM): safe to send again on a new connection.
    Refused(String),
    /// The connection broke.
    Connection(String),
    /// The server reset the stream, or its answer broke the rules or a limit.
    Protocol(String),
}

impl H2Conn {
    /// The HTTP/2 handshake on a dialed connection.
    pub async fn handshake(stream: Stream, meter: &Arc<ConnectionMeter>) -> Result<H2Conn, String> {
        let (send, connection) = h2::client::Builder::new()
            .enable_push(false)
            .initial_window_size(1 << 20)
            .initial_connection_window_size(1 << 21)
            .handshake::<_, Bytes>(stream)
            .await
            .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        let counted = meter.clone();
        let driver = tokio::spawn(async move {
            // It ends by itself only when the server ends it: gracefully (a
            // GOAWAY, nginx's after keepalive_requests) or with an error.
            match connection.await {
                Ok(()) => counted.goaway(),
                Err(e) if e.is_go_away() => counted.goaway(),
                Err(_) => {}
            }
        });
        Ok(H2Conn {
            send,
            driver,
            meter: meter.clone(),
        })
    }

    /// Whether the connection has ended (closed, or told to go away).
    pub fn is_closed(&self) -> bool {
        self.driver.is_finished()
    }

    /// Sends one request as a stream and reads its whole answer (at most
    /// `max_body` bytes of body).
    pub async fn exchange(
        &mut self,
        request: http::Request<()>,
        body: &Body,
        max_body: usize,
    ) -> Result<H2Response, H2Error> {
        let started = Instant::now();
        let mut send = self
            .send
            .clone()
            .ready()
            .await
            .map_err(|e| self.classify(e))?;
        self.meter.stream();
        let end_of_stream = body.len().is_none_or(|n| n == 0);
        let (answer, mut outgoing) = send
            .send_request(request, end_of_stream)
            .map_err(|e| self.classify(e))?;
        if !end_of_stream {
            self.send_body(&mut outgoing, body).await?;
        }
        let answer = answer.await.map_err(|e| self.classify(e))?;
        let ttfb_us = started.elapsed().as_micros() as u64;
        let (parts, mut incoming) = answer.into_parts();
        let mut body = Vec::new();
        while let Some(chunk) = incoming.data().await {
            let chunk = chunk.map_err(|e| self.classify(e))?;
            let _ = incoming.flow_control().release_capacity(chunk.len());
            if body.len() + chunk.len() > max_body {
                return Err(H2Error::Protocol(format!(
                    "body over the {max_body} byte limit"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(H2Response {
            status: parts.status.as_u16(),
            headers: Headers::from(&parts.headers),
            body,
            ttfb_us,
        })
    }

    /// A body on its stream: in memory at once (h2 buffers it), streamed a
    /// chunk at a time as the peer's window allows.
    async fn send_body(&self, out: &mut SendStream<Bytes>, body: &Body) -> Result<(), H2Error> {
        if let Some(bytes) = body.in_memory() {
            return out
                .send_data(Bytes::copy_from_slice(bytes), true)
                .map_err(|e| self.classify(e));
        }
        let mut chunks = std::pin::pin!(body.stream());
        while let Some(chunk) = chunks.next().await {
            let mut chunk =
                chunk.map_err(|e| H2Error::Protocol(format!("the request body: {e}")))?;
            while !chunk.is_empty() {
                out.reserve_capacity(chunk.len());
                let granted = std::future::poll_fn(|cx| out.poll_capacity(cx))
                    .await
                    .ok_or_else(|| H2Error::Connection("the stream closed while sending".into()))?
                    .map_err(|e| self.classify(e))?;
                let piece = chunk.split_to(granted.min(chunk.len()));
                out.send_data(piece, false).map_err(|e| self.classify(e))?;
            }
        }
        out.send_data(Bytes::new(), true)
            .map_err(|e| self.classify(e))
    }

    fn classify(&self, e: h2::Error) -> H2Error {
        let reason = e.reason();
        if e.is_go_away() {
            self.meter.goaway();
        } else if e.is_reset() && e.is_remote() {
            self.meter.reset();
        }
        let text = match reason {
            Some(r) if e.is_go_away() => {
                format!("the server is closing the connection (GOAWAY {r:?})")
            }
            Some(r) if e.is_reset() => format!("the server reset the stream (RST_STREAM {r:?})"),
            _ => format!("HTTP/2: {e}"),
        };
        if e.is_go_away() || reason == Some(h2::Reason::REFUSED_STREAM) {
            H2Error::Refused(text)
        } else if e.is_io() {
            H2Error::Connection(text)
        } else {
            H2Error::Protocol(text)
        }
    }
}
