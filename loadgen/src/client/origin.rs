//! The origin a run's users talk to (scheme, host, port), and where a task's
//! path or a server's redirect lands on it.

use reqwest::Url;

/// The one server every user of a run talks to, and the base path every
/// request's path goes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    base: Url,
    /// The base URL's path without its trailing `/` (empty for the root).
    prefix: String,
    /// The base URL as a folder (its path ending in `/`), for relative paths.
    folder: Url,
    /// `Host` header value.
    pub(crate) host: String,
    /// What to connect to: `host:port`.
    pub(crate) addr: String,
}

impl Origin {
    /// The origin of a base URL; only `http` is spoken on per-user connections.
    pub fn of(base: &Url) -> Result<Origin, String> {
        if base.scheme() != "http" {
            return Err(format!(
                "per-user connections speak plain http, not {}: use --connections shared for {base}",
                base.scheme()
            ));
        }
        let host = base
            .host_str()
            .ok_or_else(|| format!("{base} has no host"))?;
        // An IPv6 host comes bracketed ("[::1]"), as both need it.
        let port = base.port_or_known_default().unwrap_or(80);
        let addr = format!("{host}:{port}");
        let host = match base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let prefix = base.path().trim_end_matches('/').to_string();
        let mut folder = base.clone();
        folder.set_path(&format!("{prefix}/"));
        Ok(Origin {
            base: base.clone(),
            prefix,
            folder,
            host,
            addr,
        })
    }

    /// The request target (path and query) of a task's `path`: under the base
    /// URL's path (`/x` on `http://h/api` is `/api/x`; a relative `x` too),
    /// escaped where needed; an absolute URL is used as is and must be on
    /// this origin.
    pub fn target(&self, path: &str) -> Result<String, String> {
        let plain = |p: &str| p.starts_with('/') && p.bytes().all(|b| (0x21..0x7f).contains(&b));
        if plain(path) {
            return Ok(format!("{}{path}", self.prefix));
        }
        let url = match Url::parse(path) {
            Ok(url) if url.host().is_some() => Ok(url),
            _ if path.starts_with('/') => self.folder.join(&format!("{}{path}", self.prefix)),
            _ => self.folder.join(path),
        }
        .map_err(|e| format!("'{path}': {e}"))?;
        self.on_origin(path, &url)
    }

    /// Where a redirect from `current` (a request target) to `location` goes:
    /// resolved as a browser would (no base path added), on this origin only.
    pub fn location(&self, current: &str, location: &str) -> Result<String, String> {
        let url = self
            .base
            .join(current)
            .and_then(|here| here.join(location))
            .map_err(|e| format!("'{location}': {e}"))?;
        self.on_origin(location, &url)
    }

    fn on_origin(&self, asked: &str, url: &Url) -> Result<String, String> {
        if url.origin() != self.base.origin() {
            return Err(format!(
                "'{asked}' is not on {}: per-user connections reach the run's host only",
                self.host
            ));
        }
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(base: &str) -> Origin {
        Origin::of(&Url::parse(base).unwrap()).unwrap()
    }

    #[test]
    fn origins_know_where_to_connect_and_what_host_to_send() {
        let o = origin("http://127.0.0.1:8080");
        assert_eq!(
            (o.addr.as_str(), o.host.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080")
        );
        let o = origin("http://example.test/");
        assert_eq!(
            (o.addr.as_str(), o.host.as_str()),
            ("example.test:80", "example.test")
        );
        let o = origin("http://[::1]:9000");
        assert_eq!(
            (o.addr.as_str(), o.host.as_str()),
            ("[::1]:9000", "[::1]:9000")
        );
        assert!(Origin::of(&Url::parse("https://x.test").unwrap())
            .unwrap_err()
            .contains("--connections shared"));
    }

    #[test]
    fn targets_stay_on_the_origin() {
        let o = origin("http://127.0.0.1:8080");
        assert_eq!(o.target("/books?q=a").unwrap(), "/books?q=a");
        assert_eq!(o.target("/a b").unwrap(), "/a%20b");
        assert_eq!(o.target("http://127.0.0.1:8080/x?y=1").unwrap(), "/x?y=1");
        assert!(o
            .target("http://elsewhere.test/x")
            .unwrap_err()
            .contains("host only"));
        assert_eq!(
            origin("http://h.test/base/").target("next").unwrap(),
            "/base/next"
        );
    }

    #[test]
    fn a_base_path_prefixes_every_path_but_not_redirects() {
        for base in ["http://h.test/api", "http://h.test/api/"] {
            let o = origin(base);
            assert_eq!(o.target("/books?q=a").unwrap(), "/api/books?q=a");
            assert_eq!(o.target("books").unwrap(), "/api/books");
            assert_eq!(o.target("/a b").unwrap(), "/api/a%20b");
            assert_eq!(o.target("http://h.test/other").unwrap(), "/other");
            // The server's Location is where it says, relative to the request.
            assert_eq!(o.location("/api/books", "/login").unwrap(), "/login");
            assert_eq!(o.location("/api/books", "next").unwrap(), "/api/next");
            assert!(o.location("/api/x", "http://evil.test/").is_err());
        }
    }
}
