//! A distributed run across real network boundaries: the manager and three
//! workers each in their own network namespace, joined by veth links to a
//! bridge in the manager's (made and removed here; root and `ip` needed, else
//! skipped with a message). Each namespace serves the target on its own
//! loopback, so the load stays on 127.0.0.1 and only the manager's protocol
//! crosses the links. Worker 1's link is cut (its bridge port down: packets
//! dropped, no reset) for 20 s; worker 2 reaches the manager through a proxy
//! that delays every byte by 200 ms each way (this kernel has no netem).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{out_dir, stderr, summary};

const SUBNET: &str = "10.199.0";
const PORT: u16 = 18_080;

/// The namespaces and processes of one test, removed and killed on drop.
struct Net {
    names: Vec<String>,
    procs: Vec<Option<Child>>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().flatten() {
            let _ = p.kill();
            let _ = p.wait();
        }
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

impl Net {
    /// `m` (manager, bridge at .1) and `w1..w3` (workers at .11-.13).
    fn build(tag: &str) -> Result<Net, String> {
        let mut net = Net {
            names: Vec::new(),
            procs: Vec::new(),
        };
        let m = format!("lg{tag}m");
        ip(&["netns", "add", &m])?;
        net.names.push(m.clone());
        ip(&["-n", &m, "link", "set", "lo", "up"])?;
        ip(&["-n", &m, "link", "add", "br0", "type", "bridge"])?;
        ip(&[
            "-n",
            &m,
            "addr",
            "add",
            &format!("{SUBNET}.1/24"),
            "dev",
            "br0",
        ])?;
        ip(&["-n", &m, "link", "set", "br0", "up"])?;
        for i in 1..=3 {
            let w = format!("lg{tag}w{i}");
            ip(&["netns", "add", &w])?;
            net.names.push(w.clone());
            let (a, b) = (format!("lg{tag}a{i}"), format!("lg{tag}b{i}"));
            ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])?;
            ip(&["link", "set", &a, "netns", &m])?;
            ip(&["link", "set", &b, "netns", &w])?;
            ip(&["-n", &m, "link", "set", &a, "master", "br0", "up"])?;
            ip(&["-n", &w, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &w,
                "addr",
                "add",
                &format!("{SUBNET}.1{i}/24"),
                "dev",
                &b,
            ])?;
            ip(&["-n", &w, "link", "set", &b, "up"])?;
        }
        Ok(net)
    }

    fn ns(&self, which: &str) -> String {
        format!("{}{which}", self.names[0].trim_end_matches('m'))
    }

    /// Starts `program` in namespace `ns`; its output is kept (for `take`)
    /// unless `quiet`.
    fn spawn(
        &mut self,
        ns: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        quiet: bool,
    ) -> usize {
        let out = || if quiet { Stdio::null() } else { Stdio::piped() };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program])
            .args(args)
            .env_remove("LOADGEN_HOST")
            .stdout(out())
            .stderr(out());
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.procs
            .push(Some(cmd.spawn().expect("ip netns exec runs")));
        self.procs.len() - 1
    }

    fn take(&mut self, i: usize) -> Child {
        self.procs[i].take().expect("still here")
    }
}

fn can_make_namespaces() -> Result<(), String> {
    if Command::new("python3").arg("--version").output().is_err() {
        return Err("python3 is missing (it serves the target in each namespace)".into());
    }
    let probe = format!("lgprobe{}", std::process::id());
    ip(&["netns", "add", &probe])?;
    ip(&["netns", "del", &probe])
}

fn wait_port(ns: &str, addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let script = format!(
        "import socket; socket.create_connection(('{}', {}), 1)",
        addr.split(':').next().unwrap(),
        addr.split(':').nth(1).unwrap()
    );
    while Instant::now() < deadline {
        let ok = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-c", &script])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{addr} in {ns} never listened");
}

#[test]
fn a_cut_worker_is_replaced_and_stays_gone_and_a_slow_link_skews_nothing() {
    if let Err(why) = can_make_namespaces() {
        eprintln!("skipped: cannot make network namespaces here ({why})");
        return;
    }
    let tag = format!("{}", std::process::id() % 100_000);
    let mut net = Net::build(&tag).expect("the namespaces and links");
    let www = out_dir("netns-www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "ok").unwrap();
    let port = PORT.to_string();
    let (m, w1, w2, w3) = (net.ns("m"), net.ns("w1"), net.ns("w2"), net.ns("w3"));
    for ns in [&m, &w1, &w2, &w3] {
        let dir = www.to_str().unwrap().to_string();
        net.spawn(
            ns,
            "python3",
            &[
                "-m",
                "http.server",
                &port,
                "--bind",
                "127.0.0.1",
                "--directory",
                &dir,
            ],
            &[],
            true,
        );
    }
    let proxy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/delay_proxy.py");
    let manager_addr = format!("{SUBNET}.1:5557");
    net.spawn(
        &m,
        "python3",
        &[
            proxy,
            &format!("{SUBNET}.1"),
            "5558",
            &format!("{SUBNET}.1"),
            "5557",
            "200",
        ],
        &[],
        true,
    );
    for ns in [&m, &w1, &w2, &w3] {
        wait_port(ns, &format!("127.0.0.1:{PORT}"));
    }

    let bin = env!("CARGO_BIN_EXE_loadgen");
    let out = out_dir("netns-run");
    let token = [("LOADGEN_TOKEN", "netns-t0ken")];
    let host = format!("http://127.0.0.1:{PORT}");
    let manager = net.spawn(
        &m,
        bin,
        &[
            "manager",
            "plan:30,2s;30,40s",
            "--expect-workers",
            "3",
            "--bind",
            &manager_addr,
            "--host",
            &host,
            "--path",
            "/",
            "--think",
            "200ms",
            "--profile",
            "none",
            "--headless",
            "--out",
            out.to_str().unwrap(),
        ],
        &token,
        false,
    );
    wait_port(&m, &format!("{SUBNET}.1:5557"));
    let slow_addr = format!("{SUBNET}.1:5558");
    let worker = |net: &mut Net, ns: &str, name: &str, addr: &str| {
        net.spawn(
            ns,
            bin,
            &["worker", "--manager", addr, "--name", name],
            &token,
            false,
        )
    };
    let cut = worker(&mut net, &w1, "cut", &manager_addr);
    worker(&mut net, &w2, "slow", &slow_addr);
    worker(&mut net, &w3, "steady", &manager_addr);

    // The run starts about 1 s after the last join; cut worker 1 ten seconds in.
    std::thread::sleep(Duration::from_secs(11));
    let port_of_w1 = format!("lg{tag}a1");
    ip(&["-n", &m, "link", "set", &port_of_w1, "down"]).unwrap();
    let cut_at = Instant::now();
    // It must stop itself while cut off: it cannot know it was replaced.
    let exited = loop {
        if let Some(status) = net.procs[cut].as_mut().unwrap().try_wait().unwrap() {
            break status;
        }
        assert!(
            cut_at.elapsed() < Duration::from_secs(10),
            "the cut worker kept running"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let stopped_after = cut_at.elapsed();
    std::thread::sleep(Duration::from_secs(20).saturating_sub(cut_at.elapsed()));
    ip(&["-n", &m, "link", "set", &port_of_w1, "up"]).unwrap();

    let o = net.take(manager).wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cut_out = net.take(cut).wait_with_output().unwrap();
    assert_eq!(exited.code(), Some(3), "{}", stderr(&cut_out));
    assert!(
        stderr(&cut_out).contains("lost the manager"),
        "{}",
        stderr(&cut_out)
    );
    assert!(
        stopped_after < Duration::from_secs(6),
        "stopped {stopped_after:?} after the cut"
    );

    let s = summary(Path::new(&out));
    let workers = s["workers"].as_array().unwrap();
    let by_name = |name: &str| workers.iter().find(|w| w["name"] == name).unwrap().clone();
    let lost = by_name("cut");
    assert_eq!(lost["state"], "lost", "{lost}");
    assert_eq!(lost["lost_reason"], "missed 3 heartbeats");
    assert_eq!(lost["users_moved"], 10);
    assert_ne!(
        by_name("slow")["state"],
        "lost",
        "a 200 ms link is not a lost worker"
    );
    assert_ne!(by_name("steady")["state"], "lost");

    // Users per second, merged by interval: all 30 while everyone reported
    // (the slow worker's snapshots land in their own seconds), a short gap
    // while the cut worker went unnoticed, 30 again after the re-split, and
    // never more (no second copy of the moved users, before or after the heal).
    let series = s["series"].as_array().unwrap();
    let users: Vec<u64> = series
        .iter()
        .map(|p| p["users"].as_u64().unwrap())
        .collect();
    assert!(
        users.iter().all(|&u| u <= 30),
        "more users than planned: {users:?}"
    );
    let lost_at = lost["lost_at_secs"].as_f64().unwrap() as usize;
    assert!(
        users[3..lost_at.saturating_sub(5)].iter().all(|&u| u == 30),
        "{users:?}"
    );
    // (The last point is the run's partial last second.)
    let short = users[3..users.len() - 1]
        .iter()
        .filter(|&&u| u < 30)
        .count();
    assert!(short <= 5, "{short} seconds short of 30 users: {users:?}");
    assert!(
        users[lost_at + 2..users.len() - 2].iter().all(|&u| u == 30),
        "{users:?}"
    );
    let sum: u64 = workers
        .iter()
        .map(|w| w["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(s["total"]["requests"].as_u64().unwrap(), sum);
}
