//! The client room: how one virtual user reaches its targets, behind one small
//! interface the author's `Vu` calls: a [`Client`] per run, a [`UserClient`]
//! per user (`send` this request; dropped when the user stops).
//!
//! - [`settings`]: what a run asks of its connections (`--connections`,
//!   `--http`, TLS, `--connect-to`, `--compress`, `--max-body`), sent whole to
//!   workers.
//! - [`origin`]: origins, and where paths and redirects land.
//! - [`dial`]: TCP to an origin (or where `--connect-to` sends it), then
//!   [`tls`] on it; [`stream`] is the connection as bytes, either way.
//! - [`user`]: a user's own connection per origin (the per-user model), over
//!   [`h1`] (HTTP/1.1 as bytes: [`h1::wire`], [`h1::conn`]) or [`h2`]; its
//!   [`cookies`]; answers' [`headers`] and [`decode`]d bodies.
//! - [`shared`]: the other model, one connection pool for every user.

pub mod body;
pub mod cookies;
pub mod decode;
pub mod dial;
mod exchange;
pub mod h1;
pub mod h2;
pub mod headers;
pub mod origin;
pub mod settings;
pub mod shared;
pub mod stream;
pub mod tls;
pub mod user;

pub use body::{Body, Multipart};
pub use headers::Headers;
pub use settings::{ClientSettings, ConnectionModel, HttpMode};

use crate::metrics::{ConnectionMeter, FailureKind};
use std::sync::Arc;
use std::time::Duration;

/// A request as the virtual user hands it over.
pub struct Request<'a> {
    pub method: &'a str,
    /// A path under the run's base URL, or an absolute URL.
    pub path: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a Body,
    /// No whole answer within this is a timeout.
    pub timeout: Duration,
    /// Redirects followed before the answer counts (0: none followed); one
    /// more than this fails the request.
    pub max_redirects: usize,
}

/// Redirects followed by default (as browsers and Locust do, about).
pub const DEFAULT_REDIRECTS: usize = 10;

/// A whole answer.
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    /// The body, decoded when it came compressed.
    pub body: Vec<u8>,
    /// Where the answer came from, when redirects were followed.
    pub url: Option<String>,
    /// From the send to the first byte of the answer (per-user model).
    pub ttfb_us: Option<u64>,
    /// When this request opened its connection: the connect and the TLS
    /// handshake it waited for (per-user model).
    pub connect_us: Option<u64>,
    pub tls_us: Option<u64>,
}

/// Why a request got no usable answer: its kind for the tables, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    pub fn timeout(after: Duration) -> Failure {
        Failure::new(
            FailureKind::Timeout,
            format!("no response within {}", crate::units::fmt_duration(after)),
        )
    }
}

/// What every user of a run shares to reach the target.
#[derive(Clone)]
pub struct Client {
    run: Arc<user::UserRun>,
    /// `--local-ips`, and the next user's turn among them.
    local_ips: Arc<[std::net::IpAddr]>,
    next_user: Arc<std::sync::atomic::AtomicUsize>,
}

impl Client {
    /// The client of a run on `host`; `meter` counts the users' connections.
    /// An error names the setting (or file) that is wrong.
    pub fn new(
        settings: &ClientSettings,
        host: &str,
        meter: Arc<ConnectionMeter>,
    ) -> Result<Client, String> {
        let url = reqwest::Url::parse(host).map_err(|e| format!("'{host}': {e}"))?;
        let base = origin::Base::of(&url)?;
        let max_body = usize::try_from(settings.max_body_bytes).unwrap_or(usize::MAX);
        let tls = tls::TlsContext::new(&settings.tls, settings.http)?;
        let pool = match settings.connections {
            ConnectionModel::PerUser => None,
            ConnectionModel::Shared => Some(shared::pool(settings, &tls)?),
        };
        Ok(Client {
            local_ips: settings.local_ips.clone().into(),
            next_user: Arc::default(),
            run: Arc::new(user::UserRun {
                base,
                dialer: dial::Dialer {
                    connect_to: settings.connect_to.clone(),
                    tls,
                    mode: settings.http,
                    meter,
                },
                pool,
                max_body,
                compress: settings.compress,
            }),
        })
    }

    /// A new user's client: no connection until its first request.
    /// Its connections go out from the next of `--local-ips`, round robin.
    pub fn user(&self) -> UserClient {
        let source = (!self.local_ips.is_empty()).then(|| {
            let n = self
                .next_user
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.local_ips[n % self.local_ips.len()]
        });
        UserClient(user::UserHttp::new(self.run.clone(), source))
    }

    /// How the run's TLS trusts servers, for the start's message.
    pub fn trust(&self) -> &str {
        &self.run.dialer.tls.roots
    }
}

/// One user's way to the targets: its own connections (or the shared pool),
/// its cookies, its TLS sessions.
pub struct UserClient(user::UserHttp);

impl UserClient {
    /// Sends the request and reads the whole answer (within its timeout),
    /// following redirects. Cancel-safe: a send dropped half way leaves
    /// nothing out of step.
    pub async fn send(&mut self, request: &Request<'_>) -> Result<Response, Failure> {
        self.0.send(request).await
    }
}
