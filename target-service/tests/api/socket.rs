//! The service behind a real socket (`serve` on a free loopback port) and a bare
//! HTTP/1.1 client, for what only a connection shows: peer addresses, header
//! timeouts, answers the HTTP parser gives before any handler runs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::helpers::test_vars;

/// A running `serve`; stops when dropped.
pub struct Served {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves the test configuration plus `extra` on embedded SQLite (a private file).
pub async fn serve_with(extra: &[(&str, &str)]) -> Served {
    let mut vars = test_vars();
    for (k, v) in extra {
        vars.insert((*k).to_string(), (*v).to_string());
    }
    serve_vars(vars).await
}

pub async fn serve_vars(mut vars: HashMap<String, String>) -> Served {
    if !vars.contains_key("DATABASE_URL") {
        let dir = std::env::temp_dir().join(format!("ts-sock-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("test.db").to_string_lossy().into_owned();
        vars.insert("DATABASE_URL".into(), file);
    }
    let config = target_service::Config::from_map(&vars).expect("test config");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(target_service::serve(config, listener, stop.clone()));
    let served = Served { addr, stop };
    // Connections queue in the backlog until the state is built; wait for a real answer.
    let live = served.get("/health/live", &[]).await;
    assert_eq!(live.status, 200, "{live:?}");
    served
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub raw_body: String,
}

impl Served {
    /// `GET path` with extra headers, on a fresh connection.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, None).await
    }

    /// One request on its own connection (`Connection: close`), read to EOF.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        json: Option<&str>,
    ) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(body) = json {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(json.unwrap_or_default().as_bytes());
        exchange(self.addr, &bytes).await
    }
}

/// Writes `request` and parses everything read until the server closes.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let read = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        out
    };
    let raw = tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the server answered and closed within 20 s");
    parse(&String::from_utf8_lossy(&raw))
}

fn parse(raw: &str) -> Reply {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body_text = if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body: serde_json::from_str(&body_text).unwrap_or(Value::Null),
        raw_body: body_text,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
