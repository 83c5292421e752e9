//! Manager and worker processes for distributed tests: spawned on a free
//! loopback port, killed on drop, optionally under `ulimit` limits.

use super::loadgen;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Kills the process on drop, so a failed assertion leaves nothing running.
pub struct Proc(pub Option<Child>);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        Proc(Some(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ))
    }

    pub fn wait_output(mut self) -> Output {
        self.0
            .take()
            .expect("not yet waited")
            .wait_with_output()
            .unwrap()
    }

    pub fn kill(&mut self) {
        self.0.as_mut().expect("running").kill().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `loadgen manager` for `workers` workers on `port`, with the token `t0ken`.
pub fn manager_cmd(
    port: u16,
    plan: &str,
    workers: u32,
    host: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> Command {
    let mut cmd = loadgen();
    cmd.args([
        "manager",
        plan,
        "--expect-workers",
        &workers.to_string(),
        "--bind",
        &format!("127.0.0.1:{port}"),
    ])
    .args([
        "--host",
        host,
        "--path",
        "/",
        "--profile",
        "none",
        "--out",
        out.to_str().unwrap(),
    ])
    .args(extra)
    // The closed model's users pause; an open run is paced by its rate.
    .args(if plan.starts_with("rate:") {
        &[][..]
    } else {
        &["--think", "20ms"][..]
    })
    .env("LOADGEN_TOKEN", "t0ken");
    cmd
}

pub fn manager(
    port: u16,
    plan: &str,
    workers: u32,
    host: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> Proc {
    Proc::spawn(manager_cmd(port, plan, workers, host, out, extra))
}

pub fn worker(port: u16, token: &str, capacity: u64) -> Proc {
    let mut cmd = loadgen();
    cmd.args([
        "worker",
        "--manager",
        &format!("127.0.0.1:{port}"),
        "--capacity",
        &capacity.to_string(),
    ])
    .env("LOADGEN_TOKEN", token);
    // Give the manager time to listen.
    std::thread::sleep(Duration::from_millis(300));
    Proc::spawn(cmd)
}

/// `cmd` run under `ulimit <flags>` (e.g. `-v 2000000`), same arguments and environment.
pub fn limited(cmd: &Command, flags: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit {flags} && exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh
}
