//! One keep-alive HTTP/1.1 connection, written and read from the user's own
//! task: no pool, no dispatcher task. Counted while open.

use super::wire::{decode_chunked, parse_head, Chunked, Framing, Head};
use crate::metrics::ConnectionMeter;
use std::io;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response body read; a larger one fails the request.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// The largest response head read.
const MAX_HEAD: usize = 64 * 1024;
/// Read buffers that grew past this are shrunk back after the response, so a
/// user that once read a large body does not keep the memory while idle.
const KEEP_BUFFER: usize = 64 * 1024;

/// A response as read off the wire.
pub struct RawResponse {
    pub head: Head,
    pub body: Vec<u8>,
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
}

pub struct Conn {
    stream: TcpStream,
    rbuf: Vec<u8>,
    /// The request to write next (built in place by the caller).
    pub wbuf: Vec<u8>,
    meter: Arc<ConnectionMeter>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.meter.closed();
    }
}

impl Conn {
    /// Connects to `addr`; counts the connection (or the failure) and its connect time.
    pub async fn open(addr: &str, meter: &Arc<ConnectionMeter>) -> io::Result<Conn> {
        let started = Instant::now();
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                meter.opened(started.elapsed().as_micros() as u64);
                Ok(Conn {
                    stream,
                    rbuf: Vec::new(),
                    wbuf: Vec::new(),
                    meter: meter.clone(),
                })
            }
            Err(e) => {
                meter.failed();
                Err(e)
            }
        }
    }

    /// Writes `wbuf` and reads one response to `method`. After an error, or a
    /// response without keep-alive, the connection must not be used again.
    pub async fn exchange(&mut self, method: &str) -> Result<RawResponse, ExchangeError> {
        self.stream
            .write_all(&self.wbuf)
            .await
            .map_err(ExchangeError::Write)?;
        self.rbuf.clear();
        let head = loop {
            if let Some(head) = parse_head(&self.rbuf, method).map_err(ExchangeError::Protocol)? {
                break head;
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
                Ok(_) => {}
                Err(ExchangeError::Read(why)) if self.rbuf.is_empty() => {
                    return Err(ExchangeError::ClosedBeforeResponse(why))
                }
                Err(e) => return Err(e),
            }
        };
        let start = head.len;
        let mut head = head;
        let (body, used) = match head.framing {
            Framing::Empty => (Vec::new(), start),
            Framing::Length(n) => {
                let n = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= MAX_BODY)
                    .ok_or_else(|| {
                        ExchangeError::Protocol(format!(
                            "body of {n} bytes is over the {MAX_BODY} byte limit"
                        ))
                    })?;
                self.rbuf
                    .reserve((start + n).saturating_sub(self.rbuf.len()));
                while self.rbuf.len() < start + n {
                    if self.fill().await? == 0 {
                        return Err(ExchangeError::Read(
                            "the server closed the connection mid-body".into(),
                        ));
                    }
                }
                (self.rbuf[start..start + n].to_vec(), start + n)
            }
            Framing::Chunked => {
                let (mut body, mut decoded) = (Vec::new(), 0);
                loop {
                    match decode_chunked(&self.rbuf[start..], &mut decoded, &mut body, MAX_BODY)
                        .map_err(ExchangeError::Protocol)?
                    {
                        Chunked::Done { used } => break (body, start + used),
                        Chunked::More => {
                            if self.fill().await? == 0 {
                                return Err(ExchangeError::Read(
                                    "the server closed the connection mid-body".into(),
                                ));
                            }
                        }
                    }
                }
            }
            Framing::UntilClose => {
                while self.fill().await? > 0 {
                    if self.rbuf.len() - start > MAX_BODY {
                        return Err(ExchangeError::Protocol(format!(
                            "body over the {MAX_BODY} byte limit"
                        )));
                    }
                }
                (self.rbuf[start..].to_vec(), self.rbuf.len())
            }
        };
        // Bytes past the response: the stream is out of step; never reuse it.
        if self.rbuf.len() > used {
            head.keep_alive = false;
        }
        if self.rbuf.capacity() > KEEP_BUFFER {
            self.rbuf = Vec::new();
        }
        Ok(RawResponse { head, body })
    }

    /// Reads more bytes into the buffer; 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, ExchangeError> {
        if self.rbuf.capacity() - self.rbuf.len() < 1024 {
            self.rbuf.reserve(4096);
        }
        self.stream
            .read_buf(&mut self.rbuf)
            .await
            .map_err(|e| ExchangeError::Read(e.to_string()))
    }
}
