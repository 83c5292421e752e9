//! The control page (`--control`) in a real browser: headless Chromium loads
//! it from the running test, the page shows the live users, its form changes
//! them, and the run follows (the server counts the connections itself).
//! Chromium is driven over its DevTools protocol; without Chromium the test
//! says it is skipped.

mod support;

use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::counting::{change, counting, finish};
use support::*;
use tungstenite::{Message, WebSocket};

/// Chromium with its DevTools port chosen by itself, killed when dropped.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts headless Chromium on `url`; `None` when it is not installed.
fn chromium(url: &str, profile: &Path) -> Option<Browser> {
    let child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(c) => Some(Browser(c)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot start chromium: {e}"),
    }
}

/// The DevTools websocket of the page Chromium opened on `url`.
fn page_socket(
    profile: &Path,
    url: &str,
) -> WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "chromium's page never showed up in DevTools"
        );
        std::thread::sleep(Duration::from_millis(200));
        // Chromium writes the port it listens on into the profile.
        let Ok(text) = std::fs::read_to_string(profile.join("DevToolsActivePort")) else {
            continue;
        };
        let Some(port) = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u16>().ok())
        else {
            continue;
        };
        let Some(pages) = devtools_pages(port) else {
            continue;
        };
        let found = pages.as_array().and_then(|pages| {
            pages.iter().find(|p| {
                p["type"] == "page" && p["url"].as_str().is_some_and(|u| u.starts_with(url))
            })
        });
        if let Some(ws) = found.and_then(|p| p["webSocketDebuggerUrl"].as_str()) {
            let (socket, _) = tungstenite::connect(ws).expect("DevTools websocket");
            return socket;
        }
    }
}

/// DevTools' list of pages, or `None` if it does not answer yet. Chromium
/// keeps the connection open after its answer, so the body is read to its
/// Content-Length, not to the end of the stream.
fn devtools_pages(port: u16) -> Option<Value> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("HTTP/1.1 200") {
        return None;
    }
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Evaluates `expression` in the page and returns its value.
fn evaluate(
    socket: &mut WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    id: &mut u64,
    expression: &str,
) -> Value {
    *id += 1;
    let ask = json!({
        "id": *id,
        "method": "Runtime.evaluate",
        "params": {"expression": expression, "returnByValue": true, "awaitPromise": true},
    });
    socket.send(Message::text(ask.to_string())).unwrap();
    loop {
        let Message::Text(text) = socket.read().expect("DevTools answer") else {
            continue;
        };
        let answer: Value = serde_json::from_str(text.as_str()).unwrap();
        if answer["id"].as_u64() == Some(*id) {
            return answer["result"]["result"]["value"].clone();
        }
    }
}

/// Polls the page until `expression` gives `want`; panics with what it gave.
fn wait_page(
    socket: &mut WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    id: &mut u64,
    expression: &str,
    want: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = evaluate(socket, id, expression);
        if got.as_str() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page gave {got} for `{expression}`, not {want:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_control_page_shows_the_run_and_changes_its_users() {
    let server = counting();
    let out = out_dir("steer-page");
    let (mut child, addr) = server.steered_run("plan:2,0s;2,60s", &out, &["--think", "100ms"]);
    server.wait_open(2, 20);

    let profile = out.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let url = format!("http://{addr}/");
    let Some(browser) = chromium(&url, &profile) else {
        println!("skipped: chromium not installed (the control page test needs it)");
        let _ = child.kill();
        return;
    };
    let mut socket = page_socket(&profile, &url);
    let mut id = 0;
    // The page follows the run: its users, from /api/state each second.
    wait_page(&mut socket, &mut id, "document.body.dataset.users", "2");

    // Its form changes the users; the server sees the connections.
    evaluate(
        &mut socket,
        &mut id,
        "document.getElementById('level').value = '6'; \
         document.getElementById('ramp').value = '0s'; \
         document.getElementById('apply').click(); 'sent'",
    );
    server.wait_open(6, 20);
    wait_page(&mut socket, &mut id, "document.body.dataset.users", "6");
    let message = evaluate(
        &mut socket,
        &mut id,
        "document.getElementById('message').textContent",
    );
    assert!(
        message.as_str().is_some_and(|m| m.contains("users 6")),
        "page said {message}"
    );
    drop(socket);
    drop(browser);

    change(&addr, r#"{"action": "next-stage"}"#);
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&out);
    let controls = s["steered"]["controls"].as_array().unwrap();
    assert_eq!(controls[0]["what"], "users 6 at once", "{controls:?}");
}
