//! Dialing a user's connection to an origin: TCP to the origin's address (or
//! where `--connect-to` sends it; from the user's `--local-ips` address), then TLS on it for `https`, with ALPN. Each
//! step timed and counted; its failure named (`connect` or `tls`).

use super::origin::Origin;
use super::settings::{ConnectTo, HttpMode};
use super::stream::Stream;
use super::tls::{self, TlsContext};
use super::Failure;
use crate::metrics::{ConnectionMeter, FailureKind};
use rustls::ClientConfig;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;

/// How a run's users dial: routes and TLS shared by all of them.
pub struct Dialer {
    pub connect_to: Vec<ConnectTo>,
    pub tls: TlsContext,
    pub mode: HttpMode,
    pub meter: Arc<ConnectionMeter>,
}

/// A connection just made, and what it speaks.
pub struct Dialed {
    pub stream: Stream,
    /// HTTP/2 (by ALPN on TLS, by prior knowledge on plain TCP with `--http 2`).
    pub h2: bool,
    pub connect_us: u64,
    pub tls_us: Option<u64>,
}

/// TCP to `addr`, from `source` when given (`--local-ips`).
async fn connect(addr: &str, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(addr).await;
    };
    let mut last = None;
    for to in tokio::net::lookup_host(addr).await? {
        if to.is_ipv4() != source.is_ipv4() {
            continue;
        }
        let socket = if to.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(source, 0))?;
        match socket.connect(to).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("no address of {addr} in {source}'s family"),
        )
    }))
}

impl Dialed {
    /// Waits a moment for the server's first word after the handshake: under
    /// TLS 1.3 a refused client certificate comes as an alert only then. A
    /// server that says nothing (it waits for a request) is fine.
    pub async fn settled(mut self, origin: &Origin) -> Result<Dialed, Failure> {
        use tokio::io::AsyncReadExt;
        if !origin.tls {
            return Ok(self);
        }
        let mut byte = [0u8; 1];
        let wait = std::time::Duration::from_millis(300);
        match tokio::time::timeout(wait, self.stream.read(&mut byte)).await {
            Ok(Err(e)) => Err(Failure::new(
                FailureKind::Tls,
                format!("TLS with {}: {}", origin.authority, tls::explain(&e)),
            )),
            Ok(Ok(0)) => Err(Failure::new(
                FailureKind::Tls,
                format!(
                    "{} closed the connection right after the TLS handshake (does it want a client certificate? --client-cert FILE --client-key FILE)",
                    origin.authority
                ),
            )),
            _ => Ok(self),
        }
    }
}

impl Dialer {
    /// Where `origin`'s connections go: `--connect-to`'s address, or its own.
    pub fn route<'a>(&'a self, origin: &'a Origin) -> &'a str {
        self.connect_to
            .iter()
            .find(|c| c.port == origin.port && c.host == origin.host)
            .map_or(origin.addr.as_str(), |c| c.to.as_str())
    }

    /// Connects to `origin` (from `source`, when given), TLS with the user's
    /// own `config` for https.
    pub async fn dial(
        &self,
        origin: &Origin,
        config: &Arc<ClientConfig>,
        source: Option<IpAddr>,
    ) -> Result<Dialed, Failure> {
        let addr = self.route(origin);
        let started = Instant::now();
        let tcp = match connect(addr, source).await {
            Ok(tcp) => tcp,
            Err(e) => {
                self.meter.failed();
                return Err(Failure::new(
                    FailureKind::Connect,
                    format!("cannot connect to {addr}: {e}"),
                ));
            }
        };
        let _ = tcp.set_nodelay(true);
        let connect_us = started.elapsed().as_micros() as u64;
        self.meter.opened(connect_us);
        self.meter.origin_opened(&origin.label());
        if !origin.tls {
            let h2 = self.mode == HttpMode::H2;
            self.meter.speaks(h2);
            return Ok(Dialed {
                stream: Stream::Plain(tcp),
                h2,
                connect_us,
                tls_us: None,
            });
        }
        let name = match TlsContext::server_name(&origin.host) {
            Ok(name) => name,
            Err(why) => {
                self.meter.closed();
                return Err(Failure::new(FailureKind::Tls, why));
            }
        };
        let handshake = Instant::now();
        let tls = match TlsConnector::from(config.clone()).connect(name, tcp).await {
            Ok(tls) => tls,
            Err(e) => {
                self.meter.closed();
                self.meter.tls_failed();
                return Err(Failure::new(
                    FailureKind::Tls,
                    format!("TLS with {}: {}", origin.authority, tls::explain(&e)),
                ));
            }
        };
        let (_, session) = tls.get_ref();
        let resumed = session.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        let h2 = session.alpn_protocol() == Some(b"h2");
        let tls_us = handshake.elapsed().as_micros() as u64;
        self.meter.handshaken(tls_us, resumed);
        if self.mode == HttpMode::H2 && !h2 {
            self.meter.closed();
            return Err(Failure::new(
                FailureKind::Protocol,
                format!(
                    "{} did not agree to HTTP/2 (ALPN): use --http auto or 1.1",
                    origin.authority
                ),
            ));
        }
        self.meter.speaks(h2);
        Ok(Dialed {
            stream: Stream::Tls(Box::new(tls)),
            h2,
            connect_us,
            tls_us: Some(tls_us),
        })
    }
}
