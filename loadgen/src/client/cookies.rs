//! A virtual user's cookies: what the server set, sent back on every request,
//! as a browser tab keeps them for one site. One origin, so domain and path
//! attributes are not needed; `Max-Age=0` (or an expiry in the past) deletes.

/// Cookies a user holds, in the order first set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CookieJar {
    cookies: Vec<(String, String)>,
    /// The `Cookie` header value, rebuilt when the jar changes.
    header: Option<String>,
}

/// Most cookies one user keeps; a server setting more replaces the oldest.
const MAX_COOKIES: usize = 50;

impl CookieJar {
    /// Takes in one `Set-Cookie` value.
    pub fn set(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() {
            return;
        }
        let expired = parts.any(|attr| {
            let attr = attr.trim();
            attr.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-'])
            })
        });
        self.cookies.retain(|(n, _)| n != name);
        if !expired {
            if self.cookies.len() >= MAX_COOKIES {
                self.cookies.remove(0);
            }
            self.cookies.push((name.to_string(), value.to_string()));
        }
        self.header = (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        });
    }

    /// The `Cookie` header to send, if there are cookies.
    pub fn header(&self) -> Option<&str> {
        self.header.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_kept_replaced_and_deleted() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.set("session=abc; Path=/; HttpOnly");
        jar.set("theme=dark");
        assert_eq!(jar.header(), Some("session=abc; theme=dark"));
        jar.set("session=xyz");
        assert_eq!(jar.header(), Some("theme=dark; session=xyz"));
        jar.set("theme=; Max-Age=0");
        assert_eq!(jar.header(), Some("session=xyz"));
        jar.set("garbage");
        assert_eq!(jar.header(), Some("session=xyz"));
        for i in 0..100 {
            jar.set(&format!("c{i}=v"));
        }
        assert_eq!(jar.cookies.len(), MAX_COOKIES);
    }
}
