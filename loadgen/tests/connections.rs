//! The connection models against a real server that counts its connections:
//! per-user holds one connection per user, shared holds fewer, and a server
//! that closes connections (announced or not) costs reconnects, never failures.

#[path = "support/server.rs"]
mod server;

use clap::Parser;
use loadgen::cli::Cli;
use loadgen::App;
use serde_json::Value;
use server::{Behaviour, Server};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// goose's stop switch is process-wide: one run at a time in this binary.
static ONE_RUN: Mutex<()> = Mutex::new(());

/// Runs `args` (after `loadgen run`) against `server` in this process; the summary.
fn run(test: &str, server: &Server, args: &[&str]) -> Value {
    let _one = ONE_RUN.lock().unwrap_or_else(|p| p.into_inner());
    let out: PathBuf =
        std::env::temp_dir().join(format!("loadgen-conn-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let base = ["loadgen", "run"];
    let tail = [
        "--host",
        &server.url,
        "--path",
        "/",
        "--profile",
        "none",
        "--headless",
        "--out",
        out.to_str().unwrap(),
    ];
    let cli = Cli::try_parse_from([&base[..], args, &tail].concat()).unwrap();
    let code = App::new().execute(&cli, &CancellationToken::new()).unwrap();
    assert_eq!(code, 0, "{test}: exit {code}");
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn fast() -> Behaviour {
    Behaviour {
        latency: Arc::new(|_| Duration::from_millis(1)),
        ..Behaviour::default()
    }
}

#[test]
fn each_user_holds_its_own_connection_and_the_counts_match_the_server() {
    let server = Server::start(fast());
    let s = run(
        "per-user",
        &server,
        &["plan:40,1s;40,3s", "--think", "100ms"],
    );
    let c = &server.counters;
    assert_eq!(
        c.get(&c.max_open),
        40,
        "the server saw one connection per user"
    );
    // ...and none reopened (the one more is the start's reachability check).
    assert_eq!(c.get(&c.accepted), 40 + 1);
    assert_eq!(s["config"]["connections"], "per-user");
    assert_eq!(s["connections"]["peak_open"], 40);
    assert_eq!(s["connections"]["opened"], 40);
    assert_eq!(s["connections"]["failed"], 0);
    assert!(s["connections"]["connect_p99_us"].as_u64().unwrap() > 0);
    assert_eq!(s["total"]["requests"].as_u64().unwrap(), server.requests());
    assert_eq!(s["total"]["failures"], 0);
    let held = s["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["connections"].as_u64().unwrap());
    assert_eq!(held.max(), Some(40), "connections over time, per second");
}

#[test]
fn the_shared_pool_holds_fewer_connections_than_users() {
    let server = Server::start(fast());
    let s = run(
        "shared",
        &server,
        &[
            "plan:40,1s;40,3s",
            "--think",
            "100ms",
            "--connections",
            "shared",
        ],
    );
    let c = &server.counters;
    assert!(c.get(&c.max_open) < 40, "max open {}", c.get(&c.max_open));
    assert_eq!(s["config"]["connections"], "shared");
    assert!(s["connections"].is_null(), "the shared pool is not counted");
    assert_eq!(s["total"]["requests"].as_u64().unwrap(), server.requests());
}

#[test]
fn a_server_closing_connections_costs_reconnects_not_failures() {
    for announce in [true, false] {
        let server = Server::start(Behaviour {
            close_after: Some(5),
            announce_close: announce,
            ..fast()
        });
        let s = run(
            &format!("close-{announce}"),
            &server,
            &["plan:10,1s;10,3s", "--think", "50ms"],
        );
        let c = &server.counters;
        assert_eq!(
            s["total"]["failures"], 0,
            "announced close: {announce}: {}",
            s["errors"]
        );
        assert_eq!(s["total"]["requests"].as_u64().unwrap(), server.requests());
        let opened = s["connections"]["opened"].as_u64().unwrap();
        let preflight = 1;
        assert_eq!(
            opened + preflight,
            c.get(&c.accepted),
            "announced close: {announce}"
        );
        assert!(
            opened >= 10 * 4,
            "{opened} connections for {} requests",
            server.requests()
        );
        assert!(s["connections"]["peak_open"].as_u64().unwrap() <= 10);
    }
}
