//! The Prometheus text exposition format (version 0.0.4): a parser for what
//! the scraper reads, and the escaping the exporter writes with.

use std::collections::BTreeMap;

/// A metric family's declared type (`# TYPE`); `Untyped` when none was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One sample line: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: its samples in order, and each family's type.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, Kind>,
}

impl Exposition {
    /// The type of the family a sample belongs to: `x_bucket`, `x_sum` and
    /// `x_count` belong to the histogram or summary `x`.
    pub fn kind_of(&self, sample_name: &str) -> Kind {
        if let Some(kind) = self.types.get(sample_name) {
            return *kind;
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(family) = sample_name.strip_suffix(suffix) {
                if let Some(kind @ (Kind::Histogram | Kind::Summary)) = self.types.get(family) {
                    return *kind;
                }
            }
        }
        Kind::Untyped
    }

    /// The sample with this name and exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label value escaped for the text format: `\`, `"` and newlines.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Parses a whole exposition. An error names the line and what is wrong.
pub fn parse(text: &str) -> Result<Exposition, String> {
    parse_kept(text, |_| true, usize::MAX)
}

/// The most `# TYPE` lines kept from one answer (a service has dozens).
pub const MAX_TYPES: usize = 10_000;

/// Parses what is kept of an exposition: samples of the metrics `keep`
/// accepts, at most `max_samples` of them (beyond that, an error); other
/// samples are checked only as far as their name, so an answer of hundreds of
/// thousands of label sets costs no memory for the ones nobody asked for.
pub fn parse_kept(
    text: &str,
    keep: impl Fn(&str) -> bool,
    max_samples: usize,
) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = |why: String| format!("line {}: {why}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                    return Err(at("a TYPE line needs a name and a type".into()));
                };
                let kind = match kind {
                    "counter" => Kind::Counter,
                    "gauge" => Kind::Gauge,
                    "histogram" => Kind::Histogram,
                    "summary" => Kind::Summary,
                    "untyped" => Kind::Untyped,
                    other => return Err(at(format!("unknown type '{other}'"))),
                };
                if out.types.len() < MAX_TYPES || out.types.contains_key(name) {
                    out.types.insert(name.to_string(), kind);
                }
            }
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or(line.len());
        if !keep(&line[..name_end]) {
            continue;
        }
        if out.samples.len() >= max_samples {
            return Err(format!(
                "more than {max_samples} samples of the metrics kept: too many label sets"
            ));
        }
        out.samples.push(sample(line).map_err(at)?);
    }
    Ok(out)
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("a sample needs a value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("'{name}' is not a metric name"));
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(inner)?;
        labels = parsed;
        rest = after;
    }
    let mut words = rest.split_whitespace();
    let value = words.next().ok_or("a sample needs a value")?;
    let value = parse_value(value).ok_or_else(|| format!("'{value}' is not a number"))?;
    if let Some(ts) = words.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("'{ts}' is not a timestamp"))?;
    }
    if words.next().is_some() {
        return Err("text after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// `a="x",b="y"}` → the labels and what follows the `}`.
fn label_set(mut text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = text
            .find('=')
            .ok_or("a label needs '=' and a quoted value")?;
        let name = text[..eq].trim();
        if !is_label_name(name) {
            return Err(format!("'{name}' is not a label name"));
        }
        let quoted = text[eq + 1..]
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| format!("label '{name}': its value must be quoted"))?;
        let (value, after) = quoted_value(quoted)
            .ok_or_else(|| format!("label '{name}': its value is not closed"))?;
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label '{name}' given twice"));
        }
        text = after.trim_start();
        if let Some(rest) = text.strip_prefix(',') {
            text = rest;
        } else if !text.starts_with('}') {
            return Err("labels must be separated by ',' and closed by '}'".into());
        }
    }
}

/// The unescaped value up to its closing quote, and the text after it.
fn quoted_value(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP http_requests_in_flight Requests being served.
# TYPE http_requests_in_flight gauge
http_requests_in_flight 7
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method="GET",route="/a\"b\\c\nd",le="0.1"} 3
http_request_duration_seconds_count{method="GET",route="/x"} 4 1700000000000
# TYPE up untyped
up{job="api",} +Inf
"#;

    #[test]
    fn samples_labels_types_and_escapes() {
        let e = parse(TEXT).unwrap();
        assert_eq!(e.samples.len(), 4);
        assert_eq!(e.get("http_requests_in_flight", &[]), Some(7.0));
        assert_eq!(e.kind_of("http_requests_in_flight"), Kind::Gauge);
        assert_eq!(
            e.kind_of("http_request_duration_seconds_count"),
            Kind::Histogram
        );
        assert_eq!(e.kind_of("nothing_total"), Kind::Untyped);
        assert_eq!(e.samples[1].labels["route"], "/a\"b\\c\nd");
        assert_eq!(
            e.get("up", &[("job", "api")]),
            Some(f64::INFINITY),
            "a trailing comma is allowed"
        );
        let escaped = escape_label("/a\"b\\c\nd");
        assert_eq!(escaped, r#"/a\"b\\c\nd"#);
    }

    #[test]
    fn malformed_lines_are_named() {
        for (text, why) in [
            ("9x 1", "not a metric name"),
            ("x{a=\"1\" 2", "closed by '}'"),
            ("x{a=\"1} 2", "not closed"),
            ("x{a=1} 2", "must be quoted"),
            ("x{1a=\"1\"} 2", "not a label name"),
            ("x{a=\"1\",a=\"2\"} 2", "given twice"),
            ("x one", "not a number"),
            ("x", "needs a value"),
            ("x 1 2 3", "after the timestamp"),
            ("# TYPE x thing", "unknown type"),
        ] {
            let err = parse(&format!("ok 1\n{text}\n")).unwrap_err();
            assert!(
                err.starts_with("line 2: ") && err.contains(why),
                "{text}: {err}"
            );
        }
    }
}
