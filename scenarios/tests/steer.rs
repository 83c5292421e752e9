//! Steering a running test (`--control`): the real binary, its control API
//! over real sockets, and a server that counts the users' connections and
//! requests itself. A local run and a 3-worker run follow the users asked;
//! an open run follows the rate asked; pause holds requests but keeps the
//! connections; the session's replay plan reproduces its users over time;
//! the API refuses without its token off loopback.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::counting::{api, change, counting, finish, spawn, wait_api};
use support::dist::{free_port, manager_cmd, worker};
use support::*;

/// Users each second of a run, from its summary.
fn users_by_second(s: &Value) -> Vec<u64> {
    s["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["users"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_local_run_follows_the_users_asked_pauses_and_replays() {
    let server = counting();
    let out = out_dir("steer-local");
    let (child, addr) = server.steered_run("plan:4,0s;4,60s", &out, &["--think", "100ms"]);
    server.wait_open(4, 20);

    let (status, state) = api(&addr, "GET", "/api/state", "", None);
    assert_eq!(status, 200);
    assert_eq!(
        (state["model"].as_str(), state["unit"].as_str()),
        (Some("closed"), Some("users"))
    );

    // More users: the server sees their connections.
    let answer = change(&addr, r#"{"users": 10, "ramp": "2s"}"#);
    assert_eq!(answer["change"]["what"], "users 10 over 2s");
    server.wait_open(10, 15);

    // Paused: no requests, every connection kept.
    change(&addr, r#"{"action": "pause"}"#);
    std::thread::sleep(Duration::from_millis(1500));
    let before = server.requests();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.requests(), before, "no request while paused");
    assert_eq!(server.open(), 10, "connections kept while paused");
    let (status, refused) = api(
        &addr,
        "POST",
        "/api/control",
        r#"{"action": "pause"}"#,
        None,
    );
    assert_eq!(status, 409);
    assert!(refused["error"]
        .as_str()
        .unwrap()
        .contains("paused already"));
    change(&addr, r#"{"action": "resume"}"#);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        server.requests() > before,
        "requests again after the resume"
    );

    // Fewer, then a refusal that says why, then the end of the (last) stage.
    change(&addr, r#"{"users": 3}"#);
    server.wait_open(3, 15);
    let (status, refused) = api(&addr, "POST", "/api/control", r#"{"rate": 5}"#, None);
    assert_eq!(status, 400);
    assert!(
        refused["error"].as_str().unwrap().contains("closed model"),
        "{refused}"
    );
    std::thread::sleep(Duration::from_secs(8));
    change(&addr, r#"{"action": "next-stage"}"#);
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("replay this session: loadgen run 'plan:"),
        "{table}"
    );

    let s = summary(&out);
    let steered = &s["steered"];
    assert_eq!(
        steered["controls"].as_array().unwrap().len(),
        5,
        "{steered}"
    );
    let replay = steered["replay"].as_str().unwrap().to_string();
    assert!(replay.starts_with("plan:\""), "{replay}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("id=\"controls\"") && report.contains("change 1: users 10 over 2s"));
    let steered_users = users_by_second(&s);
    let paused: Vec<f64> = steered["controls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["what"] == "paused" || c["what"] == "resumed")
        .map(|c| c["at_secs"].as_f64().unwrap())
        .collect();

    // The replay: the same users over time, within a second (the paused
    // stretch, from the pause to the resume, replays as nobody: a plan
    // cannot pause).
    let replay_out = out_dir("steer-replay");
    let replayed = counting();
    let o = run(&[
        "run",
        &replay,
        "--host",
        &replayed.url,
        "--path",
        "/",
        "--think",
        "100ms",
        "--headless",
        "--out",
        replay_out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let replay_users = users_by_second(&summary(&replay_out));
    let near = |series: &[u64], t: usize, want: u64| {
        (t.saturating_sub(1)..=(t + 1).min(series.len() - 1)).any(|u| series[u] == want)
    };
    let mut compared = 0;
    for (t, &users) in steered_users.iter().enumerate() {
        if t + 1 >= steered_users.len() || t + 1 >= replay_users.len() {
            continue;
        }
        let in_pause = (paused[0].floor() - 1.0..=paused[1].ceil() + 1.0).contains(&(t as f64));
        assert!(
            near(&replay_users, t, users) || (in_pause && near(&replay_users, t, 0)),
            "second {t}: steered {users} users{}, replay {:?}\nsteered {steered_users:?}\nreplay  {replay_users:?}",
            if in_pause { " (paused: or 0)" } else { "" },
            &replay_users[t.saturating_sub(1)..=(t + 1).min(replay_users.len() - 1)]
        );
        compared += 1;
    }
    assert!(
        compared >= 14,
        "{compared} seconds compared\nsteered {steered_users:?}\nreplay  {replay_users:?}"
    );
}

#[test]
fn an_open_run_follows_the_rate_asked() {
    let server = counting();
    let out = out_dir("steer-open");
    let (child, addr) = server.steered_run("rate:20,0s;20,60s", &out, &["--max-users", "50"]);
    std::thread::sleep(Duration::from_secs(2));
    let (status, refused) = api(&addr, "POST", "/api/control", r#"{"users": 5}"#, None);
    assert_eq!(status, 400, "{refused}");
    change(&addr, r#"{"rate": 80}"#);
    std::thread::sleep(Duration::from_secs(2));
    let (a, t0) = (server.requests(), Instant::now());
    std::thread::sleep(Duration::from_secs(3));
    let rate = (server.requests() - a) as f64 / t0.elapsed().as_secs_f64();
    assert!(
        (68.0..=92.0).contains(&rate),
        "asked 80/s, the server saw {rate:.1}/s"
    );
    change(&addr, r#"{"action": "next-stage"}"#);
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let replay = summary(&out)["steered"]["replay"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(replay.starts_with("rate:\""), "{replay}");
}

#[test]
fn three_workers_split_the_users_asked() {
    let server = counting();
    let out = out_dir("steer-distributed");
    let (port, control) = (free_port(), free_port());
    let addr = format!("127.0.0.1:{control}");
    let control_flag = control.to_string();
    let mut cmd = manager_cmd(
        port,
        "plan:6,0s;6,60s",
        3,
        &server.url,
        &out,
        &["--headless", "--control", &control_flag],
    );
    let mut manager = spawn(&mut cmd);
    let workers: Vec<_> = (0..3).map(|_| worker(port, "t0ken", 1)).collect();
    wait_api(&addr, &mut manager);
    server.wait_open(6, 30);
    change(&addr, r#"{"users": 15, "ramp": "1s"}"#);
    server.wait_open(15, 15);
    // The workers' figures, as the manager merged them at its last tick.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, state) = api(&addr, "GET", "/api/state", "", None);
        let workers = state["workers"].as_array().map_or(0, Vec::len);
        if workers == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{state}");
        std::thread::sleep(Duration::from_millis(200));
    }
    change(&addr, r#"{"action": "pause"}"#);
    std::thread::sleep(Duration::from_millis(1500));
    let before = server.requests();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.requests(), before, "no worker sends while paused");
    assert_eq!(server.open(), 15);
    change(&addr, r#"{"action": "resume"}"#);
    change(&addr, r#"{"users": 3}"#);
    server.wait_open(3, 15);
    change(&addr, r#"{"action": "next-stage"}"#);
    let o = finish(manager);
    drop(workers);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&out);
    assert_eq!(s["steered"]["controls"].as_array().unwrap().len(), 5);
    let peaks: u64 = s["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["peak_users"].as_u64().unwrap())
        .sum();
    assert_eq!(peaks, 15, "the workers' shares add up to the users asked");
}

#[test]
fn the_api_off_loopback_needs_its_token() {
    let server = counting();
    let port = free_port();
    let bare = run(&[
        "run",
        "plan:1,2s",
        "--host",
        &server.url,
        "--path",
        "/",
        "--control",
        &format!("0.0.0.0:{port}"),
    ]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(
        stderr(&bare).contains("--control-token"),
        "{}",
        stderr(&bare)
    );

    let out = out_dir("steer-token");
    let mut child = spawn(
        loadgen()
            .args([
                "run",
                "plan:2,0s;2,30s",
                "--host",
                &server.url,
                "--path",
                "/",
                "--think",
                "100ms",
                "--headless",
                "--control",
                &format!("0.0.0.0:{port}"),
                "--out",
                out.to_str().unwrap(),
            ])
            .env("LOADGEN_CONTROL_TOKEN", "a-long-s3cret"),
    );
    let addr = format!("127.0.0.1:{port}");
    wait_api(&addr, &mut child);
    for path in ["/", "/api/state"] {
        let (status, _) = api(&addr, "GET", path, "", None);
        assert_eq!(status, 401, "{path} without the token");
        let (status, _) = api(&addr, "GET", path, "", Some("wrong-guess!"));
        assert_eq!(status, 401, "{path} with a wrong token");
    }
    let (status, _) = api(&addr, "POST", "/api/control", r#"{"users": 3}"#, None);
    assert_eq!(status, 401);
    let (status, state) = api(&addr, "GET", "/api/state", "", Some("a-long-s3cret"));
    assert_eq!(status, 200, "{state}");
    let (status, answer) = api(
        &addr,
        "POST",
        "/api/control",
        r#"{"action": "next-stage"}"#,
        Some("a-long-s3cret"),
    );
    assert_eq!(status, 200, "{answer}");
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_stress_run_steers_itself() {
    let server = counting();
    let out = out_dir("steer-stress");
    let (mut child, addr) =
        server.steered_run("stress", &out, &["--users", "4", "--duration", "20s"]);
    std::thread::sleep(Duration::from_secs(1));
    let (status, refused) = api(&addr, "POST", "/api/control", r#"{"users": 9}"#, None);
    assert_eq!(status, 409);
    assert!(
        refused["error"].as_str().unwrap().contains("stress"),
        "{refused}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
