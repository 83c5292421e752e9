//! What a run asks of its users' connections: the connection model, the HTTP
//! version, TLS (extra roots, no verification, a client certificate), where an
//! origin's connections go (`--connect-to`), compression and the largest body
//! read. Part of every generator's `LoadSpec`, sent whole to workers (file
//! paths are read where the process runs).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How users hold connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionModel {
    /// Each user holds its own keep-alive connection, as a browser tab or a Locust user.
    #[default]
    PerUser,
    /// All users share one connection pool: raw throughput, does not model users' connections.
    Shared,
}

impl ConnectionModel {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionModel::PerUser => "per-user",
            ConnectionModel::Shared => "shared",
        }
    }
}

/// Which HTTP a user speaks (`--http`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum HttpMode {
    /// ALPN decides on https (HTTP/2 when the server offers it); HTTP/1.1 on http.
    #[default]
    #[value(name = "auto")]
    #[serde(rename = "auto")]
    Auto,
    /// HTTP/1.1 only.
    #[value(name = "1.1")]
    #[serde(rename = "1.1")]
    H1,
    /// HTTP/2 only: by ALPN on https, with prior knowledge (h2c) on http.
    #[value(name = "2")]
    #[serde(rename = "2")]
    H2,
}

impl HttpMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMode::Auto => "auto",
            HttpMode::H1 => "1.1",
            HttpMode::H2 => "2",
        }
    }
}

/// TLS options (`--ca`, `--insecure`, `--client-cert`, `--client-key`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSettings {
    /// PEM files of extra roots, trusted beside the system's.
    #[serde(default)]
    pub ca: Vec<PathBuf>,
    /// Do not verify the server's certificate (said at the start and in summary.json).
    #[serde(default)]
    pub insecure: bool,
    /// A client certificate chain and its key (PEM), for mutual TLS.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

/// `--connect-to HOST:PORT:ADDR:PORT`: the origin's connections go to
/// ADDR:PORT, keeping its Host header and SNI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectTo {
    pub host: String,
    pub port: u16,
    /// Where to connect instead, `addr:port` (brackets kept for IPv6).
    pub to: String,
}

impl ConnectTo {
    /// `HOST:PORT:ADDR:PORT`, as curl has it (`[::1]` for IPv6 addresses).
    pub fn parse(text: &str) -> Result<ConnectTo, String> {
        let bad = |why: &str| format!("--connect-to '{text}': {why} (write HOST:PORT:ADDR:PORT)");
        let fields = split_fields(text).ok_or_else(|| bad("unbalanced brackets"))?;
        let [host, port, addr, to_port] = fields.as_slice() else {
            return Err(bad("it needs four fields"));
        };
        let port_of = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| bad(&format!("'{p}' is not a port")))
        };
        let (port, to_port) = (port_of(port)?, port_of(to_port)?);
        if host.is_empty() || addr.is_empty() {
            return Err(bad("the host and the address must not be empty"));
        }
        Ok(ConnectTo {
            host: host.trim_matches(['[', ']']).to_ascii_lowercase(),
            port,
            to: format!("{addr}:{to_port}"),
        })
    }
}

/// `a:b:[::1]:d` into its fields, a bracketed field kept whole.
fn split_fields(text: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return None,
            ']' => depth -= 1,
            ':' if depth == 0 => {
                fields.push(String::new());
                continue;
            }
            _ => {}
        }
        fields.last_mut()?.push(c);
    }
    (depth == 0).then_some(fields)
}

/// The connection options of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub connections: ConnectionModel,
    /// The largest response body read; a larger one fails its request.
    pub max_body_bytes: u64,
    #[serde(default)]
    pub http: HttpMode,
    #[serde(default)]
    pub tls: TlsSettings,
    #[serde(default)]
    pub connect_to: Vec<ConnectTo>,
    /// Ask for compressed answers (`Accept-Encoding: gzip, br`) on every request.
    #[serde(default)]
    pub compress: bool,
    /// `--local-ips`: users' connections go out from these source addresses,
    /// round robin by user (empty: the system picks).
    #[serde(default)]
    pub local_ips: Vec<std::net::IpAddr>,
}

/// The most source addresses `--local-ips` takes.
pub const MAX_LOCAL_IPS: usize = 256;

/// `--local-ips 127.0.0.2-127.0.0.9` (a range of IPv4 addresses) or a list
/// `10.0.0.5,10.0.0.6` (either family), at most `MAX_LOCAL_IPS`.
pub fn parse_local_ips(text: &str) -> Result<Vec<std::net::IpAddr>, String> {
    use std::net::{IpAddr, Ipv4Addr};
    let bad = |why: String| {
        format!("--local-ips '{text}': {why} (write 127.0.0.2-127.0.0.9 or a list a,b,c)")
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                let ip = |t: &str| {
                    t.trim()
                        .parse::<Ipv4Addr>()
                        .map_err(|_| bad(format!("'{t}' is not an IPv4 address")))
                };
                let (from, to) = (u32::from(ip(from)?), u32::from(ip(to)?));
                if to < from {
                    return Err(bad("a range goes up".into()));
                }
                if (to - from) as usize >= MAX_LOCAL_IPS {
                    return Err(bad(format!("at most {MAX_LOCAL_IPS} addresses")));
                }
                out.extend((from..=to).map(|n| IpAddr::V4(Ipv4Addr::from(n))));
            }
            None => out.push(
                part.parse()
                    .map_err(|_| bad(format!("'{part}' is not an IP address")))?,
            ),
        }
    }
    if out.is_empty() {
        return Err(bad("no address".into()));
    }
    if out.len() > MAX_LOCAL_IPS {
        return Err(bad(format!("at most {MAX_LOCAL_IPS} addresses")));
    }
    Ok(out)
}

/// Checks each source address can be bound here: an address this machine
/// does not have is an error naming it, before any load.
pub fn check_local_ips(ips: &[std::net::IpAddr]) -> Result<(), String> {
    for ip in ips {
        let socket = match ip {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .map_err(|e| format!("--local-ips: {e}"))?;
        socket
            .bind(std::net::SocketAddr::new(*ip, 0))
            .map_err(|e| {
                format!(
                    "--local-ips: cannot send from {ip}: {e} (is it an address of this machine?)"
                )
            })?;
    }
    Ok(())
}

/// The largest response body read by default (`--max-body`).
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024 * 1024;

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connections: ConnectionModel::PerUser,
            max_body_bytes: DEFAULT_MAX_BODY,
            http: HttpMode::Auto,
            tls: TlsSettings::default(),
            connect_to: Vec::new(),
            compress: false,
            local_ips: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ips_read_ranges_and_lists() {
        let ips = parse_local_ips("127.0.0.2-127.0.0.4,::1").unwrap();
        assert_eq!(ips.len(), 4);
        assert_eq!(ips[2].to_string(), "127.0.0.4");
        for bad in ["127.0.0.9-127.0.0.2", "x", "", "10.0.0.0-10.0.10.0"] {
            assert!(parse_local_ips(bad).is_err(), "{bad}");
        }
        assert!(check_local_ips(&ips[..3]).is_ok());
        let e = check_local_ips(&["192.0.2.77".parse().unwrap()]).unwrap_err();
        assert!(e.contains("192.0.2.77"), "{e}");
    }

    #[test]
    fn connect_to_reads_like_curls() {
        let c = ConnectTo::parse("api.example.com:443:127.0.0.1:18443").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.to.as_str()),
            ("api.example.com", 443, "127.0.0.1:18443")
        );
        let c = ConnectTo::parse("Example.COM:80:[::1]:8080").unwrap();
        assert_eq!(
            (c.host.as_str(), c.to.as_str()),
            ("example.com", "[::1]:8080")
        );
        for bad in ["a:1:b", "a:x:b:2", ":1:b:2", "a:1:[::1:2"] {
            assert!(
                ConnectTo::parse(bad)
                    .unwrap_err()
                    .contains("HOST:PORT:ADDR:PORT"),
                "{bad}"
            );
        }
    }
}
