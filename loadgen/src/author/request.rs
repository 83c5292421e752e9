//! A request being built: `vu.get(path).name("/books/{id}").expect(200).send().await?`.
//! Headers (a header set twice replaces), query parameters, a body (JSON, a
//! form, multipart with files streamed from disk, raw bytes), its own timeout
//! and redirect policy, the statuses that count as success, checks and
//! captures. Sending, timing and recording are [`super::send`]'s.

use super::capture::Capture;
use super::context::{set_pair, VuContext};
use super::persona::Persona;
use super::reply::Reply;
use crate::client::{Body, Multipart, DEFAULT_REDIRECTS};
use goose::goose::{GooseMethod, GooseUser};
use std::time::Duration;

pub(super) type Check = Box<dyn Fn(&Reply) -> Result<(), String> + Send + Sync>;

/// A request being built; `send()` sends it.
pub struct Req<'v> {
    pub(super) user: &'v mut GooseUser,
    pub(super) ctx: &'v VuContext,
    pub(super) persona: &'v Persona,
    pub(super) method: GooseMethod,
    pub(super) path: String,
    pub(super) name: Option<String>,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Result<Body, String>,
    pub(super) expect: Vec<u16>,
    pub(super) checks: Vec<Check>,
    /// Checks run on every answer, not only on the statuses that count as success.
    pub(super) check_all: bool,
    pub(super) captures: Vec<(String, Capture)>,
    pub(super) timeout: Option<Duration>,
    pub(super) redirects: usize,
}

pub(crate) fn method_label(method: &GooseMethod) -> &'static str {
    match method {
        GooseMethod::Get => "GET",
        GooseMethod::Post => "POST",
        GooseMethod::Put => "PUT",
        GooseMethod::Patch => "PATCH",
        GooseMethod::Delete => "DELETE",
        GooseMethod::Head => "HEAD",
        GooseMethod::Custom => "CUSTOM",
    }
}

impl<'v> Req<'v> {
    pub(super) fn new(
        user: &'v mut GooseUser,
        ctx: &'v VuContext,
        persona: &'v Persona,
        method: GooseMethod,
        path: String,
    ) -> Req<'v> {
        Req {
            user,
            ctx,
            persona,
            method,
            path,
            name: None,
            query: vec![],
            headers: vec![],
            body: Ok(Body::Empty),
            expect: vec![],
            checks: vec![],
            check_all: false,
            captures: vec![],
            timeout: None,
            redirects: DEFAULT_REDIRECTS,
        }
    }

    /// The name requests are grouped under (default: the path). Give a path
    /// with an id in it a name (`/orders/{id}`), or every id is a row.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A query parameter, escaped and added to the path (`?page=2&q=a%20b`).
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// A header of this request; set again (here, or for the user, scenario or
    /// run), the latest replaces it, never a second one.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        set_pair(&mut self.headers, name, value.into());
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// A JSON body (`Content-Type: application/json`, unless a header says otherwise).
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = serde_json::to_vec(&body)
            .map(|bytes| Body::Bytes {
                content_type: Some("application/json".into()),
                bytes,
            })
            .map_err(|e| format!("the JSON body: {e}"));
        self
    }

    /// A form body (`application/x-www-form-urlencoded`), fields in order.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, fields: &[(K, V)]) -> Self {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
            .finish();
        self.body = Ok(Body::Bytes {
            content_type: Some("application/x-www-form-urlencoded".into()),
            bytes: encoded.into_bytes(),
        });
        self
    }

    /// A `multipart/form-data` body: text fields and files, the files streamed
    /// from disk as the request is sent.
    pub fn multipart(mut self, form: Multipart) -> Self {
        self.body = Ok(Body::Multipart(form));
        self
    }

    /// Raw bytes with their content type.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.body = Ok(Body::Bytes {
            content_type: Some(content_type.to_string()),
            bytes: bytes.into(),
        });
        self
    }

    /// How long this request may take before it fails as a timeout (default:
    /// the run's `--timeout`). Give a request its time limit here, not by
    /// wrapping `send()` in a timeout: a dropped request is recorded as
    /// cancelled and costs the user its connection.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Follow at most `n` redirects (default 10); one more fails the request.
    /// `0` follows none: the redirect itself is the answer.
    pub fn redirects(mut self, n: usize) -> Self {
        self.redirects = n;
        self
    }

    /// The status that counts as success (default: any 1xx-3xx).
    pub fn expect(mut self, status: u16) -> Self {
        self.expect = vec![status];
        self
    }

    /// Statuses that all count as success (a 409 "no copies left" can be a fine answer).
    pub fn expect_any(mut self, statuses: &[u16]) -> Self {
        self.expect = statuses.to_vec();
        self
    }

    /// A check of the answer; a rejected answer counts as a failed request.
    /// Checks run on 2xx answers (see `check_all`): an accepted 409 or 429
    /// is not checked for a body it never has.
    pub fn check(
        mut self,
        check: impl Fn(&Reply) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Box::new(check));
        self
    }

    /// Runs the checks on every answer, whatever its status.
    pub fn check_all(mut self) -> Self {
        self.check_all = true;
        self
    }

    /// Keeps a value of the answer in the user's variable `var` (read it with
    /// `vu.var(var)`): `capture("token", json("/token"))`, `header("Location")`,
    /// `regex(...)`. Taken from accepted 2xx answers; one that finds nothing
    /// fails the request, as a check named after `var`.
    pub fn capture(mut self, var: &str, capture: Capture) -> Self {
        self.captures.push((var.to_string(), capture));
        self
    }
}
