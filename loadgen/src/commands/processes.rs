//! `loadgen run --processes N`: the run as N local worker processes of this
//! binary under a manager on a private loopback port with a random token,
//! all started, watched and stopped by this command. Each process has its own
//! open files and its own share of the cores; the distributed mode is the
//! engine, so a worker that dies is handled as in any distributed run.

use super::manager::{coordinate, Workers};
use crate::engine::files;
use crate::plan::RunPlan;
use crate::shape::LoadModel;
use crate::{App, Error, Placement};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// File descriptors a process keeps for itself (as `files::too_many` does).
const KEPT_FILES: u64 = 256;

/// How many processes `--processes` asks for: a number, or `auto`
/// (enough for the users' connections under each process's open-file limit,
/// at most the cores; 1 means a run in this process).
pub fn count(text: &str, plan: &RunPlan) -> Result<u32, Error> {
    if text != "auto" {
        return match text.parse::<u32>() {
            Ok(n) if (1..=64).contains(&n) => Ok(n),
            _ => Err(Error::Usage(format!(
                "--processes '{text}': a number from 1 to 64, or auto"
            ))),
        };
    }
    let users = match plan.shape.model {
        LoadModel::Closed => plan.shape.peak(),
        LoadModel::Open => plan.load.max_users.unwrap_or(0),
    };
    let per_process = files::raise_limit()
        .unwrap_or(1024)
        .saturating_sub(KEPT_FILES)
        .max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    Ok(users.div_ceil(per_process).clamp(1, cores) as u32)
}

/// The worker processes: killed (and reaped) when dropped.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `plan` over `n` local worker processes; their output goes to
/// `workers/process-K.log` in the run folder.
pub async fn run(
    app: &App,
    plan: &RunPlan,
    n: u32,
    interrupt: &CancellationToken,
) -> Result<u8, Error> {
    if app.placement != Placement::ChildProcess {
        return Err(Error::Usage(
            "--processes starts copies of the loadgen binary: run it from the binary, not embedded"
                .into(),
        ));
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::Run(format!("cannot find this binary to start workers: {e}")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Run(format!("cannot listen on loopback for the workers: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Run(format!("the workers' port: {e}")))?;
    let token = format!("{:032x}", rand::random::<u128>());
    let logs = plan.out.join("workers");
    std::fs::create_dir_all(&logs)
        .map_err(|e| Error::Usage(format!("cannot create {}: {e}", logs.display())))?;
    let mut children = Children(Vec::new());
    for k in 1..=n {
        children
            .0
            .push(spawn(&exe, &addr.to_string(), &token, k, &logs)?);
    }
    eprintln!(
        "loadgen: running as {n} worker processes (logs in {}); Ctrl-C stops them all",
        logs.display()
    );
    let result = coordinate(
        app,
        plan,
        listener,
        Workers::Expect(n),
        Duration::from_secs(30),
        token,
        interrupt,
    )
    .await;
    // Workers stop on their own after the run; any left are stopped here.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline
        && children
            .0
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(None)))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(children);
    result
}

fn spawn(exe: &Path, manager: &str, token: &str, k: u32, logs: &Path) -> Result<Child, Error> {
    let log = std::fs::File::create(logs.join(format!("process-{k}.log"))).map_err(|e| {
        Error::Usage(format!(
            "cannot write the workers' logs in {}: {e}",
            logs.display()
        ))
    })?;
    let err = log
        .try_clone()
        .map_err(|e| Error::Run(format!("the workers' logs: {e}")))?;
    Command::new(exe)
        .args(["worker", "--manager", manager, "--capacity", "1"])
        .args([
            "--name",
            &format!("process-{k}"),
            "--connect-timeout",
            "30s",
        ])
        .env("LOADGEN_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| Error::Run(format!("cannot start worker process {k}: {e}")))
}
