//! Origins (scheme, host, port) and where a request lands: a task's path under
//! the run's base URL, an absolute URL on any origin, a server's redirect.

use reqwest::Url;
use std::sync::Arc;

/// One server a user talks to: its own connection per origin, as a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `https`: the connection is TLS.
    pub tls: bool,
    /// The host as SNI and `--connect-to` name it (lowercase, no brackets).
    pub host: String,
    pub port: u16,
    /// The `Host` header (`:authority`): the port only when not the default.
    pub authority: String,
    /// Where to connect: `host:port` (an IPv6 host bracketed).
    pub addr: String,
}

impl Origin {
    /// The origin of an `http` or `https` URL.
    pub fn of(url: &Url) -> Result<Origin, String> {
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(format!("{url}: loadgen speaks http or https, not {other}")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{url} has no host"))?;
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        // An IPv6 host comes bracketed ("[::1]"), as the address and Host need it.
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        Ok(Origin {
            tls,
            host: host.trim_matches(['[', ']']).to_ascii_lowercase(),
            port,
            authority,
            addr: format!("{host}:{port}"),
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// `https://host:port`, as reports list origins.
    pub fn label(&self) -> String {
        format!("{}://{}", self.scheme(), self.authority)
    }

    /// Whether two origins are one (same scheme, host and port).
    pub fn same(&self, other: &Origin) -> bool {
        self.tls == other.tls && self.port == other.port && self.host == other.host
    }
}

/// Where a request goes: an origin and the request target (path and query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub origin: Arc<Origin>,
    pub path: String,
}

impl Target {
    /// The URL of this target, for redirects and reports.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin.label(), self.path)
    }
}

/// The run's base URL: its origin, and the path every task's path goes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    url: Url,
    /// The base URL's path without its trailing `/` (empty for the root).
    prefix: String,
    /// The base URL as a folder (its path ending in `/`), for relative paths.
    folder: Url,
    pub origin: Arc<Origin>,
}

impl Base {
    pub fn of(url: &Url) -> Result<Base, String> {
        let origin = Arc::new(Origin::of(url)?);
        let prefix = url.path().trim_end_matches('/').to_string();
        let mut folder = url.clone();
        folder.set_path(&format!("{prefix}/"));
        Ok(Base {
            url: url.clone(),
            prefix,
            folder,
            origin,
        })
    }

    /// Where a task's `path` goes: under the base URL's path (`/x` on
    /// `http://h/api` is `/api/x`; a relative `x` too), escaped where needed;
    /// an absolute URL is used as is, on whatever origin it names.
    pub fn resolve(&self, path: &str) -> Result<Target, String> {
        let plain = |p: &str| p.starts_with('/') && p.bytes().all(|b| (0x21..0x7f).contains(&b));
        if plain(path) {
            return Ok(Target {
                origin: self.origin.clone(),
                path: format!("{}{path}", self.prefix),
            });
        }
        let url = match Url::parse(path) {
            Ok(url) if url.host().is_some() => Ok(url),
            _ if path.starts_with('/') => self.folder.join(&format!("{}{path}", self.prefix)),
            _ => self.folder.join(path),
        }
        .map_err(|e| format!("'{path}': {e}"))?;
        self.target_of(&url)
    }

    /// Where a redirect from `current` to `location` goes: resolved as a
    /// browser would (no base path added), on any origin.
    pub fn location(&self, current: &Target, location: &str) -> Result<Target, String> {
        let url = Url::parse(&current.url())
            .and_then(|here| here.join(location))
            .map_err(|e| format!("'{location}': {e}"))?;
        self.target_of(&url)
    }

    fn target_of(&self, url: &Url) -> Result<Target, String> {
        let origin = Origin::of(url)?;
        let origin = if origin.same(&self.origin) {
            self.origin.clone()
        } else {
            Arc::new(origin)
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Ok(Target { origin, path })
    }

    /// The base URL as given.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> Base {
        Base::of(&Url::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn origins_know_where_to_connect_and_what_host_to_send() {
        let o = base("http://127.0.0.1:8080").origin;
        assert_eq!(
            (o.addr.as_str(), o.authority.as_str(), o.tls),
            ("127.0.0.1:8080", "127.0.0.1:8080", false)
        );
        let o = base("https://Example.test/").origin;
        assert_eq!(
            (
                o.addr.as_str(),
                o.authority.as_str(),
                o.host.as_str(),
                o.port
            ),
            ("example.test:443", "example.test", "example.test", 443)
        );
        let o = base("http://[::1]:9000").origin;
        assert_eq!(
            (o.addr.as_str(), o.authority.as_str(), o.host.as_str()),
            ("[::1]:9000", "[::1]:9000", "::1")
        );
        assert!(Base::of(&Url::parse("ftp://x.test").unwrap())
            .unwrap_err()
            .contains("http or https"));
    }

    #[test]
    fn paths_go_under_the_base_and_absolute_urls_where_they_say() {
        let b = base("http://127.0.0.1:8080");
        let t = |p: &str| {
            let t = b.resolve(p).unwrap();
            (t.origin.label(), t.path)
        };
        assert_eq!(
            t("/books?q=a"),
            ("http://127.0.0.1:8080".into(), "/books?q=a".into())
        );
        assert_eq!(t("/a b").1, "/a%20b");
        assert_eq!(t("http://127.0.0.1:8080/x?y=1").1, "/x?y=1");
        assert_eq!(
            t("https://idp.test/login"),
            ("https://idp.test".into(), "/login".into())
        );
        assert!(Arc::ptr_eq(&b.resolve("/x").unwrap().origin, &b.origin));
        assert_eq!(
            base("http://h.test/base/").resolve("next").unwrap().path,
            "/base/next"
        );
    }

    #[test]
    fn a_base_path_prefixes_every_path_but_not_redirects() {
        for url in ["http://h.test/api", "http://h.test/api/"] {
            let b = base(url);
            assert_eq!(b.resolve("/books?q=a").unwrap().path, "/api/books?q=a");
            assert_eq!(b.resolve("books").unwrap().path, "/api/books");
            assert_eq!(b.resolve("http://h.test/other").unwrap().path, "/other");
            // The server's Location is where it says, relative to the request.
            let here = b.resolve("/books").unwrap();
            assert_eq!(b.location(&here, "/login").unwrap().path, "/login");
            assert_eq!(b.location(&here, "next").unwrap().path, "/api/next");
            let away = b.location(&here, "https://idp.test:8443/auth?x=1").unwrap();
            assert_eq!(
                (away.origin.label(), away.path),
                ("https://idp.test:8443".into(), "/auth?x=1".into())
            );
        }
    }
}
