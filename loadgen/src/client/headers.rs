//! An answer's headers, kept as the lines they came in (`name: value`), one
//! buffer per answer: looked up case-insensitively when a task asks, never
//! parsed into maps on the hot path.

/// Header lines, each `name: value\r\n`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    lines: Vec<u8>,
}

impl Headers {
    /// From header lines as they came (`name: value\r\n` each).
    pub fn from_lines(lines: Vec<u8>) -> Headers {
        Headers { lines }
    }

    /// Adds a header.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.lines.extend_from_slice(name);
        self.lines.extend_from_slice(b": ");
        self.lines.extend_from_slice(value);
        self.lines.extend_from_slice(b"\r\n");
    }

    /// Every header, in order, as text (values that are not UTF-8 read as empty).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines.split(|&b| b == b'\n').filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().position(|&b| b == b':')?;
            let name = std::str::from_utf8(&line[..colon]).ok()?;
            let value = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim();
            Some((name, value))
        })
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every value of `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<&http::HeaderMap> for Headers {
    fn from(map: &http::HeaderMap) -> Headers {
        let mut h = Headers::default();
        for (name, value) in map {
            h.push(name.as_str().as_bytes(), value.as_bytes());
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_in_any_case_and_all_values_kept() {
        let mut h = Headers::default();
        h.push(b"Set-Cookie", b"a=1");
        h.push(b"Location", b"/orders/7");
        h.push(b"set-cookie", b"b=2");
        assert_eq!(h.get("location"), Some("/orders/7"));
        assert_eq!(h.get_all("SET-COOKIE").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(h.get("etag"), None);
        assert_eq!(h.iter().count(), 3);
    }
}
