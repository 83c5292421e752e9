//! `/metrics` as a scraper sees it: checked by a strict text-format parser and by
//! `promtool check metrics`, and its pool and process series against reality.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::http::{header, StatusCode};

use crate::helpers::{on_both, spawn_app, TestApp};

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A metric family: its `# TYPE`, whether it had `# HELP`, and its samples in order.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: bool,
    samples: Vec<Sample>,
}

type Exposition = BTreeMap<String, Family>;

/// Requests that leave a trace in every request family, an unmatched route included.
async fn make_traffic(app: &TestApp) {
    let hostile = [
        "/%22%5C%0A/..%2F..%2Fetc%2Fpasswd".to_string(),
        "/books/1/%22quoted%22?q=%5C".to_string(),
        format!("/{}", "x".repeat(10_000)),
    ];
    for path in ["/books/1", "/books?q=the", "/health/live"]
        .into_iter()
        .map(str::to_string)
        .chain(hostile)
    {
        app.get(&path).await;
    }
}

/// The `/metrics` body, after checking the status and content type.
async fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    let content_type = r.headers[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    r.body.as_str().expect("a text body").to_string()
}

async fn scrape_parsed(app: &TestApp) -> Exposition {
    let text = scrape(app).await;
    match parse(&text) {
        Ok(families) => families,
        Err(e) => panic!("{e}\n--- exposition ---\n{text}"),
    }
}

async fn exposition_is_well_formed(app: &TestApp) {
    make_traffic(app).await;
    let families = scrape_parsed(app).await;
    for (name, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("http_requests_shed_total", "counter"),
        ("http_requests_rate_limited_total", "counter"),
        ("http_requests_in_flight", "gauge"),
        ("circuit_breaker_open", "gauge"),
        ("circuit_breaker_state", "gauge"),
        ("bulkhead_in_use", "gauge"),
        ("db_pool_connections", "gauge"),
        ("db_pool_max_connections", "gauge"),
    ] {
        let family = families
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(family.kind, kind, "{name}");
    }
    let requests = &families["http_requests_total"].samples;
    let routes: BTreeSet<&str> = requests
        .iter()
        .map(|s| s.labels["route"].as_str())
        .collect();
    for route in ["unmatched", "/books/{id}", "/books", "/health/live"] {
        assert!(routes.contains(route), "route {route} in {routes:?}");
    }
    let statuses: BTreeSet<&str> = requests
        .iter()
        .map(|s| s.labels["status"].as_str())
        .collect();
    assert!(
        statuses.contains("404") && statuses.contains("414"),
        "{statuses:?}"
    );
    breaker_states_are_one_hot(&families);
}
on_both!(exposition_is_well_formed);

/// Each dependency is in exactly one state, and it agrees with `circuit_breaker_open`.
fn breaker_states_are_one_hot(families: &Exposition) {
    let mut by_dependency: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
    for s in &families["circuit_breaker_state"].samples {
        by_dependency
            .entry(&s.labels["dependency"])
            .or_default()
            .push((&s.labels["state"], s.value));
    }
    let deps: Vec<&str> = by_dependency.keys().copied().collect();
    assert_eq!(deps, ["database", "rabbitmq", "redis"]);
    for (dependency, states) in &by_dependency {
        let names: BTreeSet<&str> = states.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            BTreeSet::from(["closed", "half_open", "open"]),
            "{dependency}"
        );
        assert_eq!(
            states.iter().map(|(_, v)| v).sum::<f64>(),
            1.0,
            "{dependency}"
        );
        let closed = states.iter().any(|&(n, v)| n == "closed" && v == 1.0);
        let open = value(
            families,
            "circuit_breaker_open",
            &[("dependency", dependency)],
        );
        assert_eq!(open, if closed { 0.0 } else { 1.0 }, "{dependency}");
    }
}

/// The pool gauges: present, consistent, and showing the connection the requests used.
async fn pool_gauges_are_consistent(app: &TestApp) {
    app.get("/books/1").await;
    let families = scrape_parsed(app).await;
    let in_use = value(&families, "db_pool_connections", &[("state", "in_use")]);
    let idle = value(&families, "db_pool_connections", &[("state", "idle")]);
    let max = value(&families, "db_pool_max_connections", &[]);
    assert_eq!(max, 8.0, "DB_MAX_CONNECTIONS of the test config");
    assert!(in_use >= 0.0 && idle >= 0.0, "in_use {in_use}, idle {idle}");
    assert!(
        in_use + idle <= max,
        "in_use {in_use} + idle {idle} > max {max}"
    );
    // The request's connection went back to the pool and stays open (no idle timeout yet).
    assert!(in_use + idle >= 1.0, "in_use {in_use}, idle {idle}");
    assert_eq!(families["db_pool_connections"].samples.len(), 2);
}
on_both!(pool_gauges_are_consistent);

#[tokio::test]
async fn promtool_accepts_the_exposition() {
    let app = spawn_app().await;
    make_traffic(&app).await;
    let text = scrape(&app).await;
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: promtool is not installed (apt-get install prometheus)");
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}\n--- exposition ---\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_series_follow_the_process() {
    let app = spawn_app().await;
    let before = scrape_parsed(&app).await;
    let cpu_before = value(&before, "process_cpu_seconds_total", &[]);
    burn_cpu(std::time::Duration::from_millis(400)).await;
    let after = scrape_parsed(&app).await;
    let cpu_after = value(&after, "process_cpu_seconds_total", &[]);
    assert!(
        cpu_after - cpu_before >= 0.2,
        "400 ms of spinning took {cpu_before} -> {cpu_after} CPU seconds"
    );
    assert_eq!(after["process_cpu_seconds_total"].kind, "counter");

    let rss = value(&after, "process_resident_memory_bytes", &[]);
    assert!(rss > 1_048_576.0, "resident {rss} bytes");
    let fds = value(&after, "process_open_fds", &[]);
    assert!(fds >= 3.0, "{fds} open fds");
    let started = value(&after, "process_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started <= now + 1.0 && now - started < 3600.0,
        "started {started}, now {now}"
    );
    for name in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert_eq!(after[name].kind, "gauge", "{name}");
    }
}

/// Keeps one thread busy for `wall` (wall-clock time, so at least that much CPU).
async fn burn_cpu(wall: std::time::Duration) {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < wall {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
            }
        }
        x
    })
    .await
    .unwrap();
}

/// The value of the one sample of `family` carrying these labels (among others).
fn value(families: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    let samples = &families
        .get(family)
        .unwrap_or_else(|| panic!("{family} missing"))
        .samples;
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(matching.len(), 1, "{family}{labels:?} in {samples:?}");
    matching[0].value
}

// ---- a strict parser of the text format (version 0.0.4) ----

/// Parses the whole exposition, or says which line breaks which rule: every family
/// has `# HELP` and `# TYPE` before its samples, its samples are contiguous, names,
/// labels and values are well formed, and histograms are cumulative up to `+Inf`.
fn parse(text: &str) -> Result<Exposition, String> {
    if !text.ends_with('\n') {
        return Err("the exposition does not end with a newline".into());
    }
    let mut families = Exposition::new();
    let mut current: Option<String> = None;
    let mut finished: BTreeSet<String> = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", i + 1);
        let name = parse_line(line, &mut families).map_err(at)?;
        if current.as_deref() != Some(name.as_str()) {
            if finished.contains(&name) {
                return Err(at(format!("{name} continues after another family")));
            }
            finished.extend(current.replace(name));
        }
    }
    for (name, family) in &families {
        if family.kind == "histogram" {
            check_histogram(name, family)?;
        }
        if family.kind == "counter" {
            if let Some(s) = family.samples.iter().find(|s| s.value < 0.0) {
                return Err(format!("counter {name} is negative: {s:?}"));
            }
        }
    }
    Ok(families)
}

/// Applies one line; returns the name of the family it belongs to.
fn parse_line(line: &str, families: &mut Exposition) -> Result<String, String> {
    if let Some(rest) = line.strip_prefix("# HELP ") {
        let (name, help) = rest.split_once(' ').ok_or("HELP without text")?;
        check_metric_name(name)?;
        check_help_text(help)?;
        let family = families.entry(name.to_string()).or_default();
        if family.help || !family.samples.is_empty() {
            return Err(format!("HELP for {name} repeated or after its samples"));
        }
        family.help = true;
        return Ok(name.to_string());
    }
    if let Some(rest) = line.strip_prefix("# TYPE ") {
        let (name, kind) = rest.split_once(' ').ok_or("TYPE without a type")?;
        check_metric_name(name)?;
        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
            return Err(format!("unknown type {kind:?}"));
        }
        let family = families.entry(name.to_string()).or_default();
        if !family.kind.is_empty() || !family.samples.is_empty() {
            return Err(format!("TYPE for {name} repeated or after its samples"));
        }
        family.kind = kind.to_string();
        return Ok(name.to_string());
    }
    if line.starts_with('#') || line.trim().is_empty() {
        return Err("a stray comment or blank line".into());
    }
    let sample = parse_sample(line)?;
    let name = family_of(&sample.name, families)?;
    let family = families.get_mut(&name).expect("family_of found it");
    if !family.help {
        return Err(format!("{name} has TYPE but no HELP before its samples"));
    }
    family.samples.push(sample);
    Ok(name)
}

/// The declared family a sample name belongs to: itself, or a histogram/summary
/// whose `_bucket`, `_sum` or `_count` it is.
fn family_of(sample: &str, families: &Exposition) -> Result<String, String> {
    if let Some(family) = families.get(sample) {
        if family.kind.is_empty() {
            return Err(format!("{sample} has no TYPE before its samples"));
        }
        if family.kind != "histogram" && family.kind != "summary" {
            return Ok(sample.to_string());
        }
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        let Some(base) = sample.strip_suffix(suffix) else {
            continue;
        };
        match families.get(base).map(|f| f.kind.as_str()) {
            Some("histogram") => return Ok(base.to_string()),
            Some("summary") if suffix != "_bucket" => return Ok(base.to_string()),
            _ => {}
        }
    }
    Err(format!(
        "sample {sample} has no TYPE (or not a matching one) before it"
    ))
}

/// `name{label="value",...} value`, no timestamp (this service never sends one).
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample without a value")?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let (labels, rest) = match line[name_end..].strip_prefix('{') {
        Some(after_brace) => parse_labels(after_brace)?,
        None => (BTreeMap::new(), &line[name_end..]),
    };
    let value = rest
        .strip_prefix(' ')
        .ok_or("no single space before the value")?;
    Ok(Sample {
        name: name.to_string(),
        labels,
        value: parse_value(value)?,
    })
}

/// Labels after the `{`: returns them and what follows the `}`.
fn parse_labels(mut rest: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('}') {
        return Ok((labels, after));
    }
    loop {
        let (name, after_name) = rest.split_once("=\"").ok_or("a label without =\"")?;
        check_label_name(name)?;
        let (value, after_value) = parse_label_value(after_name)?;
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} repeated"));
        }
        if let Some(after) = after_value.strip_prefix('}') {
            return Ok((labels, after));
        }
        rest = after_value
            .strip_prefix(',')
            .ok_or("labels not separated by a comma")?;
    }
}

/// A quoted label value after its opening quote, unescaped; and what follows the
/// closing quote. Only `\\`, `\"` and `\n` are escapes; a raw newline cannot occur
/// (it would have ended the line).
fn parse_label_value(rest: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &rest[i + 1..])),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                Some('n') => value.push('\n'),
                other => return Err(format!("bad escape \\{other:?} in a label value")),
            },
            c => value.push(c),
        }
    }
    Err("an unterminated label value".into())
}

/// A float as Prometheus writes it: Go's ParseFloat syntax, `+Inf`, `-Inf` or `NaN`.
fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => return Ok(f64::INFINITY),
        "-Inf" => return Ok(f64::NEG_INFINITY),
        "NaN" => return Ok(f64::NAN),
        _ => {}
    }
    let plain = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match text.parse::<f64>() {
        Ok(v) if plain && !text.is_empty() => Ok(v),
        _ => Err(format!("value {text:?} is not a float")),
    }
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

fn check_label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with("__") {
        Ok(())
    } else {
        Err(format!("bad label name {name:?}"))
    }
}

/// HELP text: only `\\` and `\n` may follow a backslash.
fn check_help_text(help: &str) -> Result<(), String> {
    if help.trim().is_empty() {
        return Err("empty HELP text".into());
    }
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err("bad escape in HELP text".into());
        }
    }
    Ok(())
}

/// Per series (labels without `le`): `le` ascending and ending at `+Inf`, counts
/// cumulative, `+Inf` equal to `_count`, and a `_sum`.
fn check_histogram(name: &str, family: &Family) -> Result<(), String> {
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    let mut sums: BTreeSet<String> = BTreeSet::new();
    for s in &family.samples {
        let mut labels = s.labels.clone();
        let le = labels.remove("le");
        let key = format!("{labels:?}");
        match (s.name.strip_prefix(name), le) {
            (Some("_bucket"), Some(le)) => buckets
                .entry(key)
                .or_default()
                .push((parse_value(&le)?, s.value)),
            (Some("_count"), None) => {
                counts.insert(key, s.value);
            }
            (Some("_sum"), None) => {
                sums.insert(key);
            }
            _ => return Err(format!("{name}: unexpected sample {s:?}")),
        }
    }
    if buckets.is_empty() && !counts.is_empty() {
        return Err(format!("{name}: a _count without buckets"));
    }
    for (series, bs) in &buckets {
        let ascending = bs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        if !ascending {
            return Err(format!("{name}{series}: buckets not cumulative: {bs:?}"));
        }
        let (last_le, last_count) = *bs.last().expect("at least one bucket");
        if last_le != f64::INFINITY {
            return Err(format!("{name}{series}: no +Inf bucket last"));
        }
        if counts.get(series) != Some(&last_count) {
            return Err(format!(
                "{name}{series}: +Inf {last_count} != _count {:?}",
                counts.get(series)
            ));
        }
        if !sums.contains(series) {
            return Err(format!("{name}{series}: no _sum"));
        }
    }
    Ok(())
}

#[test]
fn the_parser_refuses_what_it_should() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n";
    let parsed = parse(ok).unwrap();
    assert_eq!(parsed["a_total"].samples[0].labels["x"], "q\"\\\n");
    let hist = "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n";
    assert!(parse(hist).is_ok());
    for (bad, why) in [
        ("# TYPE a_total counter\na_total 1\n", "no HELP"),
        ("# HELP a_total A.\na_total 1\n", "no TYPE"),
        ("# HELP a A.\n# TYPE a gauge\na{x=\"1\"} one\n", "value"),
        ("# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n", "escape"),
        ("# HELP a A.\n# TYPE a gauge\na{x=\"1} 1\n", "unterminated"),
        ("# HELP a A.\n# TYPE a gauge\na{x=1} 1\n", "unquoted"),
        ("# HELP a A.\n# TYPE a gauge\na inf\n", "inf"),
        (
            "# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\nb 1\na 1\n",
            "order",
        ),
        (
            "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na 2\n",
            "split",
        ),
        (
            &hist.replace("le=\"+Inf\"} 3", "le=\"+Inf\"} 1"),
            "not cumulative",
        ),
        (&hist.replace("h_count 3", "h_count 4"), "+Inf != count"),
        (&hist.replace("h_bucket{le=\"+Inf\"} 3\n", ""), "no +Inf"),
    ] {
        assert!(parse(bad).is_err(), "{why}: {bad:?} parsed");
    }
}
