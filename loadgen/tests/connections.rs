//! The connection models against a real server that counts its connections:
//! per-user holds one connection per user, shared holds fewer, and a server
//! that closes connections (announced or not) costs reconnects, never failures.

#[path = "support/server.rs"]
mod server;
#[path = "support/run.rs"]
mod support_run;

use serde_json::Value;
use server::{Behaviour, Server};
use std::sync::Arc;
use std::time::Duration;

fn run(test: &str, server: &Server, args: &[&str]) -> Value {
    support_run::run(&format!("conn-{test}"), &server.url, args)
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
