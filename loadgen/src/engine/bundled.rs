//! The bundled target: a service the user's crate hands over, started on a free
//! loopback port when no --host is given, stopped after. From the binary
//! (`App::main`) it serves from a child process of the same executable, so the
//! service's sockets and CPU are not the generator's: 10,000 users each holding
//! a connection need 10,000 files on each side. Embedded callers (`run_cli`,
//! tests) serve it from a task in this process.

use super::files;
use crate::author::scenario::BoxFuture;
use crate::error::exit;
use crate::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves on the listener until the token is cancelled.
pub type StartFn = Arc<
    dyn Fn(TcpListener, CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync,
>;

/// Set in a child process started to serve the bundled target.
pub const SERVE_ENV: &str = "LOADGEN_SERVE_BUNDLED";

#[derive(Clone)]
pub struct BundledTarget {
    pub name: String,
    /// Answers 200 once the service can take load.
    pub ready_path: String,
    pub start: StartFn,
}

/// Where a bundled target serves from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// A task of this process: its connections' files count against this
    /// process's limit too.
    #[default]
    InProcess,
    /// A child process of this executable, with its own open-file limit.
    ChildProcess,
}

/// A started bundled target.
pub struct Running {
    pub url: String,
    server: Server,
}

enum Server {
    Task {
        stop: CancellationToken,
        task: JoinHandle<anyhow::Result<()>>,
    },
    Child {
        child: Child,
        /// Closing it asks the child to stop.
        stdin: Option<ChildStdin>,
    },
}

impl BundledTarget {
    pub async fn start(&self, placement: Placement) -> Result<Running, Error> {
        let mut running = match placement {
            Placement::InProcess => self.start_task().await?,
            Placement::ChildProcess => self.start_child().await?,
        };
        running.wait_ready(&self.name, &self.ready_path).await?;
        Ok(running)
    }

    async fn start_task(&self) -> Result<Running, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::io("cannot bind a loopback port"))?;
        let addr = listener
            .local_addr()
            .map_err(Error::io("cannot read the bound port"))?;
        let stop = CancellationToken::new();
        let task = tokio::spawn((self.start)(listener, stop.clone()));
        Ok(Running {
            url: format!("http://{addr}"),
            server: Server::Task { stop, task },
        })
    }

    /// Starts this executable again with [`SERVE_ENV`] set (see [`serve_child`]),
    /// in its own process group so a terminal's Ctrl-C reaches only the
    /// generator, which then stops the child when its run is concluded.
    async fn start_child(&self) -> Result<Running, Error> {
        let exe = std::env::current_exe().map_err(Error::io("cannot find this executable"))?;
        let mut child = Command::new(exe)
            .env(SERVE_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .map_err(Error::io("cannot start the bundled service's process"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let first_line = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line);
            // Whatever the service prints afterwards goes to our stderr.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut std::io::stderr());
            });
            read.map(|_| line)
        });
        let line = match tokio::time::timeout(Duration::from_secs(120), first_line).await {
            Ok(Ok(Ok(line))) => line,
            _ => String::new(),
        };
        let url = line.trim().to_string();
        let stdin = child.stdin.take();
        let mut running = Running {
            url,
            server: Server::Child { child, stdin },
        };
        if !running.url.starts_with("http://") {
            running.kill();
            return Err(stopped_while_starting(&self.name));
        }
        Ok(running)
    }
}

fn stopped_while_starting(name: &str) -> Error {
    Error::Run(format!(
        "the bundled {name} stopped while starting (see its log above)"
    ))
}

/// The child's side of [`Placement::ChildProcess`]: binds a free loopback port,
/// prints its URL on stdout, and serves until stdin closes (the generator
/// stopped it, or ended without doing so). Returns the process's exit code:
/// 0, or 3 when the service could not start or failed.
pub fn serve_child(target: &BundledTarget) -> u8 {
    files::raise_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: bundled service: cannot start the async runtime: {e}");
            return exit::NOT_RUN;
        }
    };
    let result = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut out = std::io::stdout();
        writeln!(out, "http://{}", listener.local_addr()?)?;
        out.flush()?;
        let stop = CancellationToken::new();
        let on_eof = stop.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            on_eof.cancel();
        });
        (target.start)(listener, stop).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("loadgen: the bundled service stopped with an error: {e:#}");
            exit::NOT_RUN
        }
    }
}

impl Running {
    /// Whether the service has stopped on its own.
    fn stopped(&mut self) -> bool {
        match &mut self.server {
            Server::Task { task, .. } => task.is_finished(),
            Server::Child { child, .. } => !matches!(child.try_wait(), Ok(None)),
        }
    }

    async fn wait_ready(&mut self, name: &str, path: &str) -> Result<(), Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Run(e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.stopped() {
                return Err(stopped_while_starting(name));
            }
            if let Ok(resp) = client.get(format!("{}{path}", self.url)).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(Error::Run(format!(
                    "the bundled {name} was not ready within 120 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        match &mut self.server {
            Server::Task { stop, .. } => stop.cancel(),
            Server::Child { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Asks the service to stop and waits (at most 10 s) for it to drain.
    pub async fn stop(self) {
        match self.server {
            Server::Task { stop, task } => {
                stop.cancel();
                match tokio::time::timeout(Duration::from_secs(10), task).await {
                    Ok(Ok(Err(e))) => {
                        eprintln!("loadgen: the bundled service stopped with an error: {e:#}")
                    }
                    Err(_) => eprintln!("loadgen: the bundled service did not stop within 10 s"),
                    _ => {}
                }
            }
            Server::Child { mut child, stdin } => {
                drop(stdin);
                let deadline = Instant::now() + Duration::from_secs(10);
                while matches!(child.try_wait(), Ok(None)) {
                    if Instant::now() > deadline {
                        eprintln!("loadgen: the bundled service did not stop within 10 s");
                        let _ = child.kill();
                        let _ = child.wait();
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}
