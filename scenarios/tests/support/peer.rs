//! A protocol peer driven by hand: the test writes and reads the frames, so it
//! can be the worker no honest loadgen would be.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub struct Peer {
    pub stream: TcpStream,
}

/// `body` with its u32 big-endian length in front.
pub fn frame(body: &[u8]) -> Vec<u8> {
    [&(body.len() as u32).to_be_bytes()[..], body].concat()
}

/// The join message an honest worker sends.
pub fn join(token: &str, scenarios: &str, name: &str) -> Value {
    json!({
        "type": "join",
        "protocol": loadgen::distributed::protocol::PROTOCOL_VERSION,
        "token": token,
        "scenarios": scenarios,
        "capacity": 1,
        "name": name,
    })
}

impl Peer {
    /// Connects, retrying for a few seconds while the manager starts.
    pub fn connect(port: u16) -> Peer {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    return Peer { stream };
                }
                Err(e) if Instant::now() > deadline => panic!("no manager on {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    pub fn send(&mut self, message: &Value) -> std::io::Result<()> {
        self.stream
            .write_all(&frame(message.to_string().as_bytes()))
    }

    /// The next message, `None` when the connection ends (or breaks).
    pub fn recv(&mut self) -> Option<Value> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).ok()?;
        serde_json::from_slice(&body).ok()
    }

    /// Joins the manager on `port` as a worker named `name`. The scenario
    /// fingerprint is no secret: the manager's refusal of a wrong one says it.
    pub fn joined(port: u16, token: &str, name: &str) -> Peer {
        let mut probe = Peer::connect(port);
        probe.send(&join(token, "?", name)).unwrap();
        let refusal = probe.recv().expect("the manager answers a join");
        let reason = refusal["reason"].as_str().unwrap_or_default().to_string();
        let fingerprint = reason
            .split("load test is ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or_else(|| panic!("no fingerprint in {refusal}"));
        let mut peer = Peer::connect(port);
        peer.send(&join(token, fingerprint, name)).unwrap();
        let welcome = peer.recv().expect("welcomed");
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        peer
    }

    /// Reads messages until one of `kind` arrives.
    pub fn until(&mut self, kind: &str) -> Value {
        loop {
            let m = self
                .recv()
                .unwrap_or_else(|| panic!("closed before a {kind}"));
            if m["type"] == kind {
                return m;
            }
        }
    }
}
