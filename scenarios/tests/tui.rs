//! The live dashboard end to end: the real binary in a tmux pane (a real
//! pseudo-terminal), stopped with `q`, leaving the final table on the normal
//! screen; and steered from its keys (users typed in, pause, next stage).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::Served;

/// A tmux server of this test's own (its own socket), killed even when the test fails.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// A detached session `dash` running `run` in a 130x42 pane; the pane
    /// stays after loadgen exits (with `EXIT=code`), so the normal screen can
    /// be read.
    fn start(name: &str, run: &str) -> Tmux {
        let script = format!("{run}; echo \"EXIT=$?\"; sleep 120");
        let tmux = Tmux {
            socket: Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("tmux-{name}-{}.sock", std::process::id())),
        };
        let started = tmux
            .cmd()
            .args(["new-session", "-d", "-s", "dash", "-x", "130", "-y", "42"])
            .arg(&script)
            .env_remove("LOADGEN_HOST")
            .status()
            .expect("tmux starts");
        assert!(started.success());
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    fn pane(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "dash"])
            .output()
            .expect("tmux capture-pane runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let ok = self
            .cmd()
            .args(["send-keys", "-t", "dash", keys])
            .status()
            .expect("tmux send-keys runs");
        assert!(ok.success());
    }

    /// Polls the pane until `done` holds; panics with the pane after `secs`.
    fn wait_for(&self, what: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let pane = self.pane();
            if done(&pane) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the pane shows:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The request count in the dashboard's header (`... | 1234 reqs, 0 fails`).
fn live_requests(pane: &str) -> Option<u64> {
    let at = pane.find(" reqs,")?;
    pane[..at].rsplit(' ').next()?.parse().ok()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn dashboard_shows_live_numbers_and_q_stops_with_reports_and_a_restored_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("skipped: tmux not installed");
        return;
    }
    let url = support::serve(support::overloadable_app(Served::default(), u64::MAX));
    let out = support::out_dir("tui-q");
    let metrics = format!("{url}/metrics");
    let run = [
        env!("CARGO_BIN_EXE_loadgen"),
        "run",
        "plan:5,1s;5,60s",
        "--host",
        &url,
        "--scenario",
        "http-get",
        "--path",
        "/",
        "--profile",
        "none",
        "--threshold",
        "p99<1us",
        // A fault at the start: marked on the charts (their legends name it: number@second).
        "--at",
        "0s",
        "true",
        // The server's own series, drawn under the latency.
        "--scrape",
        &metrics,
        "--out",
        out.to_str().unwrap(),
    ]
    .map(shell_quote)
    .join(" ");
    let tmux = Tmux::start("tui", &run);

    let wanted = [
        "1 Overview",
        "plan |",
        "Requests/s",
        "Latency",
        "p99<1us",
        "FAIL",
        "fail/s fault 1@0s",
        "P99 fault 1@0s",
        "Server: in-flight fault 1@0s",
    ];
    let pane = tmux.wait_for("live numbers", 60, |p| {
        live_requests(p).is_some_and(|n| n > 0)
            && p.contains("FAILING")
            && wanted.iter().all(|w| p.contains(w))
    });
    for want in wanted {
        assert!(pane.contains(want), "missing {want:?} in\n{pane}");
    }
    // goose prints "5 users launched." to stdout once its users are up: it
    // must land in the footer, never on the picture (no shifted or doubled
    // lines between repaints).
    let pane = tmux.wait_for("goose's line in the footer", 20, |p| {
        p.lines()
            .last()
            .is_some_and(|l| l.contains("output: 5 users launched."))
    });
    for _ in 0..10 {
        let pane = tmux.pane();
        let lines: Vec<&str> = pane.lines().collect();
        assert!(lines[0].starts_with('┌'), "the header moved:\n{pane}");
        let strays = lines[..lines.len() - 1]
            .iter()
            .filter(|l| l.contains("launched"))
            .count();
        assert_eq!(strays, 0, "goose's line on the picture:\n{pane}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(pane);
    tmux.keys("2");
    tmux.wait_for("the endpoints screen", 10, |p| {
        p.contains("# Requests") && p.contains("Aggregated")
    });

    tmux.keys("q");
    let pane = tmux.wait_for("loadgen to exit", 60, |p| p.contains("EXIT="));
    assert!(pane.contains("EXIT=130"), "q is an interruption:\n{pane}");
    // The final table and verdict are on the normal screen, the dashboard gone.
    for want in [
        "5 users launched.",
        "# Requests",
        "INTERRUPTED run",
        "Verdict: FAILED",
        "Results:",
    ] {
        assert!(pane.contains(want), "missing {want:?} in\n{pane}");
    }
    assert!(
        !pane.contains("1 Overview"),
        "dashboard left on screen:\n{pane}"
    );
    let summary = support::summary(&out);
    assert_eq!(summary["interrupted"], true);
    assert!(summary["total"]["requests"].as_u64().unwrap() > 0);
}

#[test]
fn dashboard_keys_set_the_users_pause_and_end_the_stage() {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("skipped: tmux not installed");
        return;
    }
    let server = support::counting::counting();
    let out = support::out_dir("tui-steer");
    let run = [
        env!("CARGO_BIN_EXE_loadgen"),
        "run",
        "plan:3,0s;3,90s",
        "--host",
        &server.url,
        "--path",
        "/",
        "--think",
        "100ms",
        "--out",
        out.to_str().unwrap(),
    ]
    .map(shell_quote)
    .join(" ");
    let tmux = Tmux::start("tui-steer", &run);
    server.wait_open(3, 60);
    tmux.wait_for("the steering keys in the footer", 20, |p| {
        p.contains("+/- u p n steer")
    });

    // u opens the prompt; 7 Enter sets 7 users at once.
    tmux.keys("u");
    tmux.wait_for("the prompt", 10, |p| p.contains("set users (LEVEL [RAMP]"));
    tmux.keys("7");
    tmux.keys("Enter");
    server.wait_open(7, 20);

    // p pauses: no requests, connections kept, the header says so.
    tmux.keys("p");
    tmux.wait_for("PAUSED", 10, |p| p.contains("PAUSED"));
    std::thread::sleep(Duration::from_millis(1500));
    let before = server.requests();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.requests(), before, "no request while paused");
    assert_eq!(server.open(), 7, "connections kept while paused");
    tmux.keys("p");
    tmux.wait_for("the resume", 10, |p| !p.contains("PAUSED"));

    // n ends this (the last) stage: the run ends by itself, passed.
    tmux.keys("n");
    let pane = tmux.wait_for("loadgen to exit", 60, |p| p.contains("EXIT="));
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(
        pane.contains("replay this session: loadgen run 'plan:"),
        "{pane}"
    );
    let summary = support::summary(&out);
    let controls = summary["steered"]["controls"].as_array().unwrap();
    let what: Vec<&str> = controls
        .iter()
        .map(|c| c["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        what,
        [
            "users 7 at once",
            "paused",
            "resumed",
            "last stage ended: the run ends"
        ],
        "{controls:?}"
    );
    assert!(
        controls.iter().all(|c| c["by"] == "dashboard"),
        "{controls:?}"
    );
}
