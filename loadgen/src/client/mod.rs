//! The client room: how one virtual user reaches its targets, behind one small
//! interface the author's `Vu` calls: a [`Client`] per run, a [`UserClient`]
//! per user (`send` this request; dropped when the user stops).
//!
//! - [`settings`]: what a run asks of its connections (`--connections`,
//!   `--max-body`), sent whole to workers.
//! - [`origin`]: the target's origin, and where paths and redirects land on it.
//! - [`user`]: a user's own keep-alive connection and cookies (the per-user
//!   model), over [`h1`] (HTTP/1.1 as bytes: [`h1::wire`], [`h1::conn`]) and
//!   [`cookies`].
//! - [`shared`]: the other model, one connection pool for every user.

pub mod cookies;
pub mod h1;
pub mod origin;
pub mod settings;
pub mod shared;
pub mod user;

pub use settings::{ClientSettings, ConnectionModel};

use crate::metrics::{ConnectionMeter, FailureKind};
use std::sync::Arc;
use std::time::Duration;

/// A request as the virtual user hands it over.
pub struct Request<'a> {
    pub method: &'a str,
    /// A path under the run's base URL, or an absolute URL.
    pub path: &'a str,
    pub headers: &'a [(String, String)],
    pub content_type: Option<&'a str>,
    pub body: Option<&'a [u8]>,
    /// No whole answer within this is a timeout.
    pub timeout: Duration,
}

/// A whole answer.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
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
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    PerUser {
        origin: Arc<origin::Origin>,
        meter: Arc<ConnectionMeter>,
        max_body: usize,
    },
    Shared(shared::SharedPool),
}

impl Client {
    /// The client of a run on `host`; `meter` counts the users' connections.
    pub fn new(
        settings: &ClientSettings,
        host: &str,
        meter: Arc<ConnectionMeter>,
    ) -> Result<Client, String> {
        let base = reqwest::Url::parse(host).map_err(|e| format!("'{host}': {e}"))?;
        let max_body = usize::try_from(settings.max_body_bytes).unwrap_or(usize::MAX);
        let kind = match settings.connections {
            ConnectionModel::PerUser => Kind::PerUser {
                origin: Arc::new(origin::Origin::of(&base)?),
                meter,
                max_body,
            },
            ConnectionModel::Shared => Kind::Shared(shared::SharedPool::new(base, max_body)?),
        };
        Ok(Client { kind })
    }

    /// A new user's client: no connection until its first request.
    pub fn user(&self) -> UserClient {
        UserClient(match &self.kind {
            Kind::PerUser {
                origin,
                meter,
                max_body,
            } => UserKind::PerUser(user::UserHttp::new(
                origin.clone(),
                meter.clone(),
                *max_body,
            )),
            Kind::Shared(pool) => UserKind::Shared(pool.clone()),
        })
    }
}

/// One user's way to the target: its own connection, or the shared pool.
pub struct UserClient(UserKind);

enum UserKind {
    PerUser(user::UserHttp),
    Shared(shared::SharedPool),
}

impl UserClient {
    /// Sends the request and reads the whole answer (within its timeout).
    /// Cancel-safe: a send dropped half way leaves nothing out of step.
    pub async fn send(&mut self, request: &Request<'_>) -> Result<Response, Failure> {
        match &mut self.0 {
            UserKind::PerUser(http) => http.send(request).await,
            UserKind::Shared(pool) => pool.send(request).await,
        }
    }
}
