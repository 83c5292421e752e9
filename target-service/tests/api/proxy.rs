//! A TCP proxy in front of a real dependency, so a test can kill it (every open
//! connection cut, the port refusing) and bring it back on the same port,
//! without touching the machine's shared PostgreSQL or RabbitMQ.

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct Proxy {
    pub port: u16,
    upstream: String,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts forwarding a free loopback port to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            port,
            upstream: upstream.to_string(),
            stop: CancellationToken::new(),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let (upstream, stop) = (self.upstream.clone(), self.stop.clone());
        self.task = Some(tokio::spawn(async move {
            loop {
                let (mut client, _) = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted { Ok(c) => c, Err(_) => return },
                };
                let (upstream, stop) = (upstream.clone(), stop.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        }));
    }

    /// The dependency "dies": the port closes and every connection is cut.
    pub async fn kill(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // Let the connection tasks see the cancel and drop their sockets.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    /// The dependency comes back on the same port.
    pub async fn restart(&mut self) {
        self.stop = CancellationToken::new();
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// `host:port` of a URL like `scheme://user:pass@host:port/path`.
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// `url` with its `host:port` replaced by the proxy's.
pub fn through(url: &str, proxy: &Proxy) -> String {
    url.replacen(&host_port(url), &format!("127.0.0.1:{}", proxy.port), 1)
}
