//! HTTP/1.1 on the wire, as pure functions over bytes: a request head written
//! into a reused buffer, a response head parsed (httparse), and the body's framing.

use super::super::body::Body;
use super::super::headers::Headers;
use std::io::Write;

/// How a response's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// What a response head says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// Bytes the head took, `\r\n\r\n` included.
    pub len: usize,
    pub framing: Framing,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
    /// The header lines as they came.
    pub headers: Headers,
}

/// Most headers a response may have.
const MAX_HEADERS: usize = 64;

/// Writes a request head (and body) into `out`, which is cleared first.
#[allow(clippy::too_many_arguments)]
pub fn write_request(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    host: &str,
    cookie: Option<&str>,
    headers: &[(String, String)],
    content_type: Option<&str>,
    body: &Body,
) {
    out.clear();
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
    if !given("user-agent") {
        let _ = write!(out, "User-Agent: loadgen/{}\r\n", env!("CARGO_PKG_VERSION"));
    }
    if !given("accept") {
        out.extend_from_slice(b"Accept: */*\r\n");
    }
    if let Some(cookie) = cookie {
        let _ = write!(out, "Cookie: {cookie}\r\n");
    }
    for (name, value) in headers {
        // Framing is the wire's own: a task's length or encoding would lie.
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("host") {
            continue;
        }
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if let Some(ct) = content_type.filter(|_| !given("content-type")) {
        let _ = write!(out, "Content-Type: {ct}\r\n");
    }
    // A streamed body (a multipart form) follows the head as it is read.
    match (body.len(), body.in_memory()) {
        (Some(len), inline) => {
            let _ = write!(out, "Content-Length: {len}\r\n\r\n");
            out.extend_from_slice(inline.unwrap_or_default());
        }
        (None, _) if matches!(method, "POST" | "PUT" | "PATCH") => {
            out.extend_from_slice(b"Content-Length: 0\r\n\r\n")
        }
        (None, _) => out.extend_from_slice(b"\r\n"),
    }
}

/// Parses a response head from the start of `buf`: `Ok(None)` while incomplete.
pub fn parse_head(buf: &[u8], method: &str) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("malformed response head: {e}")),
    };
    let status = response.code.unwrap_or(0);
    if status < 100 {
        return Err(format!("bad status code {status:03}"));
    }
    let http11 = response.version == Some(1);
    let (mut length, mut chunked, mut close, mut keep) = (None, false, false, false);
    let mut encoded = false;
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .map_err(|_| format!("bad Content-Length '{value}'"))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length headers".into());
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let interim = status < 200;
    if encoded && !interim && (length.is_some() || !http11) {
        // RFC 9112 6.3: such framing is faulty (a smuggling attempt, or a
        // broken proxy): whatever is read after it cannot be trusted.
        return Err(if http11 {
            "both Content-Length and Transfer-Encoding: the body's length is ambiguous".into()
        } else {
            "Transfer-Encoding in an HTTP/1.0 response: its framing is faulty".into()
        });
    }
    let framing = if method == "HEAD" || interim || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    let keep_alive = framing != Framing::UntilClose && !close && (http11 || keep);
    // The header lines, copied once: after the status line, before the blank line.
    let start = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(len, |i| i + 2);
    let lines = buf.get(start..len.saturating_sub(2)).unwrap_or_default();
    let headers = Headers::from_lines(lines.to_vec());
    Ok(Some(Head {
        status,
        len,
        framing,
        keep_alive,
        headers,
    }))
}

/// The longest chunk-size line (extensions included) and the most trailer
/// bytes read, like a head's limit: beyond them the answer is refused.
pub const MAX_CHUNK_LINE: usize = 64 * 1024;
pub const MAX_TRAILERS: usize = 64 * 1024;

/// A chunked body decoded as its bytes come: each call consumes what it can
/// (partial chunks included), so the raw bytes never pile up beside the
/// decoded ones and nothing is parsed twice.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// Trailer bytes read so far.
    trailers: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// At a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, this many bytes to go.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailers,
    Done,
}

/// What a decoding step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes consumed (drop them before the next call).
    pub used: usize,
    /// Whether the body has ended.
    pub done: bool,
}

impl ChunkedDecoder {
    /// Decodes from `buf`, appending data to `body` (at most `limit` bytes in
    /// all); call again with the unconsumed rest and more bytes.
    pub fn decode(
        &mut self,
        buf: &[u8],
        body: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Decoded, String> {
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            match self.state {
                ChunkState::Done => {
                    return Ok(Decoded {
                        used: at,
                        done: true,
                    })
                }
                ChunkState::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        at += used;
                        self.state = if size == 0 {
                            ChunkState::Trailers
                        } else {
                            if (body.len() as u64).saturating_add(size) > limit as u64 {
                                return Err(format!("body over the {limit} byte limit"));
                            }
                            ChunkState::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) if rest.len() > MAX_CHUNK_LINE => {
                        return Err(format!("chunk-size line over {MAX_CHUNK_LINE} bytes"))
                    }
                    Ok(httparse::Status::Partial) => {
                        return Ok(Decoded {
                            used: at,
                            done: false,
                        })
                    }
                    Err(_) => return Err("malformed chunk size".into()),
                },
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok(Decoded {
                            used: at,
                            done: false,
                        });
                    }
                    let take = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    body.extend_from_slice(&rest[..take]);
                    at += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(Decoded {
                            used: at,
                            done: false,
                        });
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err("chunk not followed by CRLF".into());
                    }
                    at += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") else {
                        if self.trailers + rest.len() > MAX_TRAILERS {
                            return Err(format!("trailers over {MAX_TRAILERS} bytes"));
                        }
                        return Ok(Decoded {
                            used: at,
                            done: false,
                        });
                    };
                    self.trailers += nl + 2;
                    if self.trailers > MAX_TRAILERS {
                        return Err(format!("trailers over {MAX_TRAILERS} bytes"));
                    }
                    at += nl + 2;
                    if nl == 0 {
                        self.state = ChunkState::Done;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_carry_host_headers_and_length() {
        let mut out = Vec::new();
        let headers = [("authorization".to_string(), "Bearer t".to_string())];
        write_request(
            &mut out,
            "POST",
            "/loans?x=1",
            "127.0.0.1:8080",
            Some("a=1; b=2"),
            &headers,
            Some("application/json"),
            &Body::Bytes {
                content_type: None,
                bytes: b"{}".to_vec(),
            },
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("POST /loans?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(text.contains("\r\nCookie: a=1; b=2\r\n"));
        assert!(text.contains("\r\nauthorization: Bearer t\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
        write_request(&mut out, "GET", "/", "h", None, &[], None, &Body::Empty);
        assert!(String::from_utf8(out.clone())
            .unwrap()
            .ends_with("*/*\r\n\r\n"));
        write_request(&mut out, "POST", "/", "h", None, &[], None, &Body::Empty);
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn heads_say_how_the_body_ends_and_whether_to_keep_the_connection() {
        let head = |text: &str, method| parse_head(text.as_bytes(), method).unwrap().unwrap();
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET");
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (200, Framing::Length(5), true)
        );
        assert_eq!(h.len, 38);
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            "GET",
        );
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, false));
        let h = head("HTTP/1.0 200 OK\r\n\r\n", "GET");
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        let h = head(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            "GET",
        );
        assert!(h.keep_alive);
        let h = head("HTTP/1.1 204 No Content\r\n\r\n", "DELETE");
        assert_eq!((h.framing, h.keep_alive), (Framing::Empty, true));
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD");
        assert_eq!(h.framing, Framing::Empty);
        let h = head("HTTP/1.1 302 Found\r\nLocation: /x\r\nSet-Cookie: s=1; Path=/\r\nContent-Length: 0\r\n\r\n", "GET");
        assert_eq!(
            (
                h.headers.get("location"),
                h.headers.get_all("set-cookie").count()
            ),
            (Some("/x"), 1)
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", "GET"),
            Ok(None)
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "GET").is_err());
        assert!(parse_head(b"garbage\r\n\r\n", "GET").is_err());
    }

    #[test]
    fn chunked_bodies_decode_in_pieces() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        // Fed a byte at a time (each unconsumed rest kept), it finishes
        // exactly once, at the end of the body, and keeps no raw bytes.
        let (mut body, mut decoder, mut pending) =
            (Vec::new(), ChunkedDecoder::default(), Vec::new());
        let mut done_at = None;
        for (i, b) in wire.iter().enumerate() {
            pending.push(*b);
            let step = decoder.decode(&pending, &mut body, 1 << 20).unwrap();
            pending.drain(..step.used);
            assert!(pending.len() <= 64, "raw bytes pile up: {}", pending.len());
            if step.done {
                done_at = Some(i + 1);
                break;
            }
        }
        assert_eq!(body, b"hello, world");
        assert_eq!(done_at, Some(wire.len() - 4));
        let mut big = Vec::new();
        assert!(ChunkedDecoder::default()
            .decode(b"ff\r\n", &mut big, 10)
            .is_err());
        assert!(ChunkedDecoder::default()
            .decode(b"2\r\nabXY", &mut Vec::new(), 10)
            .is_err());
    }

    #[test]
    fn endless_chunk_lines_and_trailers_are_refused() {
        let mut line = b"5;".to_vec();
        line.extend(std::iter::repeat_n(b'x', MAX_CHUNK_LINE + 1));
        assert!(ChunkedDecoder::default()
            .decode(&line, &mut Vec::new(), 1 << 20)
            .is_err());
        let mut d = ChunkedDecoder::default();
        let mut trailers = b"0\r\n".to_vec();
        for _ in 0..(MAX_TRAILERS / 10 + 1) {
            trailers.extend_from_slice(b"X-A: 1234\r\n");
        }
        assert!(d.decode(&trailers, &mut Vec::new(), 1 << 20).is_err());
    }

    #[test]
    fn faulty_framing_and_bad_statuses_are_refused() {
        let refused = |text: &str| parse_head(text.as_bytes(), "GET").unwrap_err();
        assert!(refused(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .contains("ambiguous"));
        assert!(
            refused("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").contains("faulty")
        );
        assert!(refused("HTTP/1.1 000 Nothing\r\nContent-Length: 0\r\n\r\n").contains("000"));
        // An interim answer has no body, whatever it says.
        let h = parse_head(b"HTTP/1.1 100 Continue\r\n\r\n", "GET")
            .unwrap()
            .unwrap();
        assert_eq!((h.status, h.framing), (100, Framing::Empty));
    }
}
