//! A hostile HTTP server for tests: each request gets the exact bytes a
//! script says (interim answers, bad framing, endless bodies, no answer at
//! all), on a free loopback port, one thread per connection.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the server does with one request.
pub enum Answer {
    /// Writes these bytes.
    Bytes(Vec<u8>),
    /// Waits, then writes these bytes.
    After(Duration, Vec<u8>),
    /// Writes the head, then `chunk` again and again until the client goes.
    Endless { head: Vec<u8>, chunk: Vec<u8> },
    /// Never answers (holds the connection until the client closes it).
    Never,
}

/// A plain answer: `200 OK` with this body, kept alive.
pub fn ok(body: &str) -> Answer {
    Answer::Bytes(ok_bytes(body))
}

/// The bytes of `ok(body)`.
pub fn ok_bytes(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Raw bytes, as written.
pub fn raw(text: &str) -> Answer {
    Answer::Bytes(text.as_bytes().to_vec())
}

pub struct Scripted {
    pub url: String,
    pub requests: Arc<AtomicU64>,
    pub connections: Arc<AtomicU64>,
}

impl Scripted {
    /// Serves every request by `script(path)`.
    pub fn start(script: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (requests, connections) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let script = Arc::new(script);
        let (r, c) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                c.fetch_add(1, Ordering::SeqCst);
                let (script, r) = (script.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &*script, &r));
            }
        });
        Scripted {
            url,
            requests,
            connections,
        }
    }
}

fn serve(mut stream: TcpStream, script: &dyn Fn(&str) -> Answer, requests: &AtomicU64) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&pending[..end]).to_string();
        let body_len = head
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(str::to_string))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while pending.len() < end + 4 + body_len {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        pending.drain(..end + 4 + body_len);
        let path = head.split(' ').nth(1).unwrap_or("/").to_string();
        requests.fetch_add(1, Ordering::SeqCst);
        let written = match script(&path) {
            Answer::Bytes(bytes) => stream.write_all(&bytes),
            Answer::After(wait, bytes) => {
                std::thread::sleep(wait);
                stream.write_all(&bytes)
            }
            Answer::Endless { head, chunk } => {
                let _ = stream.write_all(&head);
                while stream.write_all(&chunk).is_ok() {}
                return;
            }
            Answer::Never => {
                // Until the client closes: a read of 0 or an error.
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                return;
            }
        };
        if written.is_err() {
            return;
        }
    }
}
