//! A tiny HTTP/1.1 server for tests: a free loopback port, known behaviour
//! (latency and status per request, keep-alive limit), and counters of what it
//! saw: requests, connections accepted, connections open now and at most.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the server answers request number `i` (counted from 1 across connections).
#[derive(Clone)]
pub struct Behaviour {
    pub latency: Arc<dyn Fn(u64) -> Duration + Send + Sync>,
    pub status: Arc<dyn Fn(u64) -> u16 + Send + Sync>,
    /// Close a connection after it served this many requests.
    pub close_after: Option<u64>,
    /// Say so with `Connection: close` on the last response (else close unannounced,
    /// as a server whose keep-alive timeout hits an idle connection does).
    pub announce_close: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            latency: Arc::new(|_| Duration::ZERO),
            status: Arc::new(|_| 200),
            close_after: None,
            announce_close: true,
        }
    }
}

#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub accepted: AtomicU64,
    pub open: AtomicU64,
    pub max_open: AtomicU64,
}

impl Counters {
    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }
}

pub struct Server {
    pub url: String,
    pub counters: Arc<Counters>,
}

impl Server {
    pub fn start(behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (b, c) = (behaviour.clone(), c.clone());
                c.accepted.fetch_add(1, Ordering::SeqCst);
                let now = c.open.fetch_add(1, Ordering::SeqCst) + 1;
                c.max_open.fetch_max(now, Ordering::SeqCst);
                std::thread::spawn(move || {
                    serve_connection(stream, &b, &c);
                    c.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Server { url, counters }
    }

    pub fn requests(&self) -> u64 {
        self.counters.get(&self.counters.requests)
    }
}

fn serve_connection(mut stream: TcpStream, b: &Behaviour, c: &Counters) {
    let (mut buf, mut pending, mut served) = ([0u8; 4096], Vec::new(), 0u64);
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if pending.len() < end + 4 + body_len {
                break;
            }
            pending.drain(..end + 4 + body_len);
            let i = c.requests.fetch_add(1, Ordering::SeqCst) + 1;
            served += 1;
            std::thread::sleep((b.latency)(i));
            let status = (b.status)(i);
            let last = b.close_after.is_some_and(|k| served >= k);
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\n{}\r\nok",
                if last && b.announce_close {
                    "Connection: close\r\n"
                } else {
                    ""
                }
            );
            if stream.write_all(reply.as_bytes()).is_err() {
                return;
            }
            if last {
                if !b.announce_close {
                    // Closed after the client has had time to take the answer and go idle.
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
        }
    }
}
