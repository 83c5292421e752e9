//! A server that counts users' connections and requests by itself, and the
//! control API as a test drives it (`--control`): requests, changes, and a
//! steered run's process started and waited for.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A keep-alive server that counts, by itself, the connections open now and
/// the requests served.
pub struct Counting {
    pub url: String,
    open: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl Counting {
    /// `loadgen run SHAPE` against this server, headless, steerable on a free
    /// `--control` port, writing to `out`, with `extra` flags: started, and
    /// its control API answering. Returns the process and the API's address.
    pub fn steered_run(
        &self,
        shape: &str,
        out: &std::path::Path,
        extra: &[&str],
    ) -> (Child, String) {
        let port = super::dist::free_port().to_string();
        let mut cmd = super::loadgen();
        cmd.args([
            "run",
            shape,
            "--host",
            &self.url,
            "--path",
            "/",
            "--headless",
        ])
        .args(["--control", &port, "--out", out.to_str().unwrap()])
        .args(extra);
        let mut child = spawn(&mut cmd);
        let addr = format!("127.0.0.1:{port}");
        wait_api(&addr, &mut child);
        (child, addr)
    }
}

pub fn counting() -> Counting {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let open = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let (o, r) = (open.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (o, r) = (o.clone(), r.clone());
            o.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                serve(stream, &r);
                o.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Counting {
        url,
        open,
        requests,
    }
}

fn serve(mut stream: TcpStream, requests: &AtomicU64) {
    let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            requests.fetch_add(1, Ordering::SeqCst);
            if stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
    }
}

impl Counting {
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Waits until the open connections are `want`; panics with what was seen.
    pub fn wait_open(&self, want: u64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.open() != want {
            assert!(
                Instant::now() < deadline,
                "the server has {} connections open, not {want}",
                self.open()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One HTTP/1.1 request to the control API: (status, JSON body).
pub fn api(addr: &str, method: &str, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Sends a change and insists it was taken.
pub fn change(addr: &str, body: &str) -> Value {
    let (status, answer) = api(addr, "POST", "/api/control", body, None);
    assert_eq!(status, 200, "{body} -> {answer}");
    answer
}

/// Waits until the control API answers (the run has started listening).
pub fn wait_api(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("loadgen ended ({status}) before its control API listened");
        }
        assert!(Instant::now() < deadline, "the control API never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn finish(child: Child) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("loadgen did not end within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}
