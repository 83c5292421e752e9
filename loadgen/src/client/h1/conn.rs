//! One keep-alive HTTP/1.1 connection, written and read from the user's own
//! task: no pool, no dispatcher task. Counted while open.

use super::super::body::Body;
use super::super::stream::Stream;
use super::wire::{parse_head, ChunkedDecoder, Framing, Head};
use crate::metrics::ConnectionMeter;
use std::io;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest response head read.
const MAX_HEAD: usize = 64 * 1024;
/// Read buffers that grew past this are shrunk back after the response, so a
/// user that once read a large body does not keep the memory while idle.
const KEEP_BUFFER: usize = 64 * 1024;

/// A response as read off the wire.
pub struct RawResponse {
    pub head: Head,
    pub body: Vec<u8>,
    /// From the start of the write to the first byte of the answer.
    pub ttfb_us: u64,
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// The connection ended (closed or reset) before any byte of a response
    /// came (on a reused connection: the server had closed it while idle; safe
    /// to retry); why.
    ClosedBeforeResponse(String),
    /// Writing the request failed.
    Write(io::Error),
    /// Reading the response failed, or it ended half way.
    Read(String),
    /// The response is not HTTP/1.1 as we read it.
    Protocol(String),
    /// TLS broke (an alert: a client certificate refused, say).
    Tls(String),
}

/// A read or write error: TLS's own, named, or the plain I/O error.
fn io_failure(e: io::Error, plain: impl FnOnce(io::Error) -> ExchangeError) -> ExchangeError {
    if super::super::tls::is_tls(&e) {
        ExchangeError::Tls(super::super::tls::explain(&e))
    } else {
        plain(e)
    }
}

pub struct Conn {
    stream: Stream,
    rbuf: Vec<u8>,
    /// The request to write next (built in place by the caller).
    pub wbuf: Vec<u8>,
    meter: Arc<ConnectionMeter>,
    /// A request was written and its response not read whole: the exchange
    /// was dropped half way (the task's future was), so the stream is out of
    /// step and must not carry another request.
    unsettled: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.meter.closed();
    }
}

/// Interim (1xx) answers skipped before a request's final answer; more is a
/// protocol error.
const MAX_INTERIM: usize = 16;
/// The most a declared body length reserves at once: the rest as it comes.
const RESERVE_AT_ONCE: usize = 1024 * 1024;

impl Conn {
    /// A connection just dialed (counted open by the dialer; closed when dropped).
    pub fn new(stream: Stream, meter: &Arc<ConnectionMeter>) -> Conn {
        Conn {
            stream,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            meter: meter.clone(),
            unsettled: false,
        }
    }

    /// Whether an earlier exchange on it was abandoned half way.
    pub fn unsettled(&self) -> bool {
        self.unsettled
    }

    /// Writes `wbuf` and reads one final response to `method` (interim 1xx
    /// answers skipped), its body at most `max_body` bytes. After an error, or
    /// a response without keep-alive, the connection must not be used again.
    pub async fn exchange(
        &mut self,
        method: &str,
        streamed: Option<&Body>,
        max_body: usize,
    ) -> Result<RawResponse, ExchangeError> {
        self.unsettled = true;
        let started = Instant::now();
        self.stream
            .write_all(&self.wbuf)
            .await
            .map_err(|e| io_failure(e, ExchangeError::Write))?;
        if let Some(body) = streamed {
            body.write_streamed(&mut self.stream)
                .await
                .map_err(|e| io_failure(e, ExchangeError::Write))?;
        }
        self.stream
            .flush()
            .await
            .map_err(|e| io_failure(e, ExchangeError::Write))?;
        self.rbuf.clear();
        let mut interim = 0;
        let mut ttfb_us = None;
        let mut head = loop {
            let head = self.read_head(method, started, &mut ttfb_us).await?;
            match head.status {
                101 => {
                    return Err(ExchangeError::Protocol(
                        "101 Switching Protocols, though no upgrade was asked".into(),
                    ))
                }
                100..=199 if interim < MAX_INTERIM => {
                    interim += 1;
                    self.rbuf.drain(..head.len);
                }
                100..=199 => {
                    return Err(ExchangeError::Protocol(format!(
                        "more than {MAX_INTERIM} interim (1xx) answers"
                    )))
                }
                _ => break head,
            }
        };
        let start = head.len;
        let body = match head.framing {
            Framing::Empty => Vec::new(),
            Framing::Length(n) => {
                let n = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= max_body)
                    .ok_or_else(|| {
                        ExchangeError::Protocol(format!(
                            "body of {n} bytes is over the {max_body} byte limit"
                        ))
                    })?;
                self.rbuf
                    .reserve((start + n.min(RESERVE_AT_ONCE)).saturating_sub(self.rbuf.len()));
                while self.rbuf.len() < start + n {
                    if self.fill().await? == 0 {
                        return Err(ExchangeError::Read(
                            "the server closed the connection mid-body".into(),
                        ));
                    }
                }
                let body = self.rbuf[start..start + n].to_vec();
                self.rbuf.drain(..start + n);
                body
            }
            Framing::Chunked => {
                self.rbuf.drain(..start);
                let (mut body, mut decoder) = (Vec::new(), ChunkedDecoder::default());
                loop {
                    let step = decoder
                        .decode(&self.rbuf, &mut body, max_body)
                        .map_err(ExchangeError::Protocol)?;
                    self.rbuf.drain(..step.used);
                    if step.done {
                        break body;
                    }
                    if self.fill().await? == 0 {
                        return Err(ExchangeError::Read(
                            "the server closed the connection mid-body".into(),
                        ));
                    }
                }
            }
            Framing::UntilClose => {
                while self.fill().await? > 0 {
                    if self.rbuf.len() - start > max_body {
                        return Err(ExchangeError::Protocol(format!(
                            "body over the {max_body} byte limit"
                        )));
                    }
                }
                let body = self.rbuf[start..].to_vec();
                self.rbuf.clear();
                body
            }
        };
        // Bytes past the response: the stream is out of step; never reuse it.
        if !self.rbuf.is_empty() {
            head.keep_alive = false;
        }
        if self.rbuf.capacity() > KEEP_BUFFER {
            self.rbuf = Vec::new();
        }
        self.unsettled = false;
        Ok(RawResponse {
            head,
            body,
            ttfb_us: ttfb_us.unwrap_or(0),
        })
    }

    /// Reads until a whole head is in the buffer (from its start); notes when
    /// its first byte came.
    async fn read_head(
        &mut self,
        method: &str,
        started: Instant,
        first_byte: &mut Option<u64>,
    ) -> Result<Head, ExchangeError> {
        loop {
            if let Some(head) = parse_head(&self.rbuf, method).map_err(ExchangeError::Protocol)? {
                return Ok(head);
            }
            if self.rbuf.len() > MAX_HEAD {
                return Err(ExchangeError::Protocol(format!(
                    "response head over {MAX_HEAD} bytes"
                )));
            }
            match self.fill().await {
                Ok(0) if self.rbuf.is_empty() => {
                    return Err(ExchangeError::ClosedBeforeResponse(
                        "the server closed the connection without answering".into(),
                    ))
                }
                Ok(0) => {
                    return Err(ExchangeError::Read(
                        "the server closed the connection mid-head".into(),
                    ))
                }
                Ok(_) => {
                    first_byte.get_or_insert_with(|| started.elapsed().as_micros() as u64);
                }
                Err(ExchangeError::Read(why)) if self.rbuf.is_empty() => {
                    return Err(ExchangeError::ClosedBeforeResponse(why))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads more bytes into the buffer; 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, ExchangeError> {
        if self.rbuf.capacity() - self.rbuf.len() < 1024 {
            self.rbuf.reserve(4096);
        }
        self.stream
            .read_buf(&mut self.rbuf)
            .await
            .map_err(|e| io_failure(e, |e| ExchangeError::Read(e.to_string())))
    }
}
