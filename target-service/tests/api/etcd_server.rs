//! A private etcd for a test: free loopback ports, its own data dir under cargo's
//! tmp dir, killed on drop. `None` (and a `skipped:` line) when etcd is not installed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use target_service::config::etcd::etcd_client::Client;

pub struct EtcdServer {
    pub url: String,
    client_port: u16,
    peer_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

impl EtcdServer {
    /// Ports and a data dir, not started yet (to test a service that starts first).
    pub fn reserve() -> Option<EtcdServer> {
        if Command::new("etcd").arg("--version").output().is_err() {
            eprintln!("skipped: etcd is not installed (apt-get install etcd-server)");
            return None;
        }
        let client_port = free_port();
        let peer_port = free_port();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("etcd-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(EtcdServer {
            url: format!("http://127.0.0.1:{client_port}"),
            client_port,
            peer_port,
            dir,
            child: None,
        })
    }

    /// A started server, ready for requests.
    pub async fn start() -> Option<EtcdServer> {
        let mut server = EtcdServer::reserve()?;
        server.run().await;
        Some(server)
    }

    /// Starts (or starts again, on the same ports and data) and waits until it answers.
    pub async fn run(&mut self) {
        assert!(self.child.is_none(), "already running");
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .unwrap();
        let child = Command::new("etcd")
            .args(["--name", "ts-test", "--data-dir"])
            .arg(self.dir.join("data"))
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("ts-test={peer}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(mut c) = Client::connect([&self.url], None).await {
                if c.get("probe", None).await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("etcd did not answer within 20 s (log: {:?})", self.dir);
    }

    /// Kills the server (as a crash would); its data stays for `run`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn put(&self, key: &str, value: &str) {
        let mut c = Client::connect([&self.url], None).await.expect("connect");
        c.put(key, value, None).await.expect("put");
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
