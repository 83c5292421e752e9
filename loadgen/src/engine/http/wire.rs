//! HTTP/1.1 on the wire, as pure functions over bytes: a request head written
//! into a reused buffer, a response head parsed (httparse), and the body's framing.

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
    /// `Set-Cookie` values, in order.
    pub set_cookies: Vec<String>,
    /// `Location`, for redirects.
    pub location: Option<String>,
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
    body: Option<&[u8]>,
) {
    out.clear();
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: loadgen/{}\r\nAccept: */*\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(cookie) = cookie {
        let _ = write!(out, "Cookie: {cookie}\r\n");
    }
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if let Some(ct) = content_type {
        let _ = write!(out, "Content-Type: {ct}\r\n");
    }
    match body {
        Some(body) => {
            let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
            out.extend_from_slice(body);
        }
        None if matches!(method, "POST" | "PUT" | "PATCH") => {
            out.extend_from_slice(b"Content-Length: 0\r\n\r\n")
        }
        None => out.extend_from_slice(b"\r\n"),
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
    let http11 = response.version == Some(1);
    let (mut length, mut chunked, mut close, mut keep) = (None, false, false, false);
    let (mut set_cookies, mut location) = (Vec::new(), None);
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
            chunked |= value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("set-cookie") {
            set_cookies.push(value.to_string());
        } else if h.name.eq_ignore_ascii_case("location") {
            location = Some(value.to_string());
        }
    }
    let framing = if method == "HEAD" || status < 200 || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    let keep_alive = framing != Framing::UntilClose && !close && (http11 || keep);
    Ok(Some(Head {
        status,
        len,
        framing,
        keep_alive,
        set_cookies,
        location,
    }))
}

/// Where a chunked body's decoding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunked {
    /// Needs more bytes to go on.
    More,
    /// The body is complete; `used` bytes of the input made it (trailers included).
    Done { used: usize },
}

/// Decodes as much of a chunked body in `buf` as is there, appending data to
/// `body`. Call again with more bytes (from the start) while it says `More`;
/// `decoded_to` keeps how far it got, so nothing is decoded twice.
pub fn decode_chunked(
    buf: &[u8],
    decoded_to: &mut usize,
    body: &mut Vec<u8>,
    limit: usize,
) -> Result<Chunked, String> {
    let mut at = *decoded_to;
    loop {
        let size = match httparse::parse_chunk_size(&buf[at..]) {
            Ok(httparse::Status::Complete((used, size))) => (used, size),
            Ok(httparse::Status::Partial) => return Ok(Chunked::More),
            Err(_) => return Err("malformed chunk size".into()),
        };
        let (used, size) = size;
        if size == 0 {
            // The last chunk, then trailers up to an empty line.
            let rest = &buf[at + used..];
            let mut line_start = 0;
            loop {
                let Some(nl) = rest[line_start..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(Chunked::More);
                };
                if nl == 0 {
                    return Ok(Chunked::Done {
                        used: at + used + line_start + 2,
                    });
                }
                line_start += nl + 2;
            }
        }
        let size = usize::try_from(size).map_err(|_| "chunk too large".to_string())?;
        if body.len().saturating_add(size) > limit {
            return Err(format!("body over the {limit} byte limit"));
        }
        let end = at + used + size;
        if buf.len() < end + 2 {
            return Ok(Chunked::More);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        body.extend_from_slice(&buf[at + used..end]);
        at = end + 2;
        *decoded_to = at;
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
            Some(b"{}"),
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("POST /loans?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(text.contains("\r\nCookie: a=1; b=2\r\n"));
        assert!(text.contains("\r\nauthorization: Bearer t\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
        write_request(&mut out, "GET", "/", "h", None, &[], None, None);
        assert!(String::from_utf8(out.clone())
            .unwrap()
            .ends_with("*/*\r\n\r\n"));
        write_request(&mut out, "POST", "/", "h", None, &[], None, None);
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
            (h.location.as_deref(), h.set_cookies.len()),
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
        let mut body = Vec::new();
        let mut at = 0;
        // Fed a byte at a time, it finishes exactly once, at the end of the body.
        let mut done = None;
        for n in 1..=wire.len() {
            match decode_chunked(&wire[..n], &mut at, &mut body, 1 << 20).unwrap() {
                Chunked::More => {}
                Chunked::Done { used } => {
                    done = Some(used);
                    break;
                }
            }
        }
        assert_eq!(body, b"hello, world");
        assert_eq!(done, Some(wire.len() - 4));
        let mut big = Vec::new();
        assert!(decode_chunked(b"ff\r\n", &mut 0, &mut big, 10).is_err());
        assert!(decode_chunked(b"2\r\nabXY", &mut 0, &mut Vec::new(), 10).is_err());
    }
}
