//! The run folder's reports through the library: one real run in process against a
//! tiny server, then Locust's CSV headers, the schema, the hlog round trip,
//! agreement across formats, JUnit, `compare`, and the page in a headless browser.

#[path = "support/agree.rs"]
mod agree;
#[path = "support/schema.rs"]
mod schema;
#[path = "support/server.rs"]
mod server;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use loadgen::judge::regression::{compare, Limits};
use loadgen::metrics::hdr;
use loadgen::report::summary::Summary;
use server::{Behaviour, Server};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Answers each request after 0.5-4.5 ms; every 40th with a 503.
fn serve() -> String {
    Server::start(Behaviour {
        latency: Arc::new(|i| Duration::from_micros(500 + (i * 7_919) % 4_000)),
        status: Arc::new(|i| if i % 40 == 0 { 503 } else { 200 }),
        ..Behaviour::default()
    })
    .url
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// One real run, shared by every test here.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let host = serve();
        let out = tmp("reports-run");
        let code = loadgen::App::new().run_cli(
            [
                "loadgen",
                "run",
                "plan:8,1s;8,4s",
                "--host",
                &host,
                "--scenario",
                "http-get",
                "--path",
                "/a",
                "--path",
                "/b",
                "--profile",
                "none",
                "--threshold",
                "p99<10s",
                "--threshold",
                "error-rate<50%",
                "--headless",
                "--out",
                out.to_str().unwrap(),
            ],
            &CancellationToken::new(),
        );
        assert_eq!(code, 0, "the reference run passes");
        out
    })
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baselines/stages-50u-30s.json")
}

#[test]
fn every_report_is_written_and_csv_headers_are_locusts() {
    let dir = run_dir();
    for file in [
        "summary.json",
        "report.html",
        "stats.csv",
        "stats_history.csv",
        "failures.csv",
    ]
    .iter()
    .chain(&["latency.hlog", "junit.xml", "summary.md"])
    {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    agree::assert_locust_headers(dir);
    let s = Summary::read(&dir.join("summary.json")).unwrap();
    let stats = std::fs::read_to_string(dir.join("stats.csv")).unwrap();
    assert_eq!(stats.lines().count(), s.endpoints.len() + 2);
    let history = std::fs::read_to_string(dir.join("stats_history.csv")).unwrap();
    assert_eq!(history.lines().count(), s.series.len() + 1);
    assert!(
        !history.contains("N/A"),
        "with the hlog, history is complete"
    );
    let failures = std::fs::read_to_string(dir.join("failures.csv")).unwrap();
    assert!(
        s.total.figures.failures > 0 && failures.lines().count() > 1,
        "{failures}"
    );
    // First and last seen, as Locust writes them: UTC seconds within the run.
    let start = loadgen::clock::parse_rfc3339(&s.started_at).unwrap();
    let end = start + s.duration_secs.ceil() as u64 + 1;
    for row in failures.lines().skip(1) {
        let cells: Vec<&str> = row.rsplitn(3, ',').collect();
        let seen = |text: &str| loadgen::clock::parse_rfc3339(text).expect(row);
        let (first, last) = (seen(cells[1]), seen(cells[0]));
        assert!(start <= first && first <= last && last <= end, "{row}");
    }
}

#[test]
fn summaries_validate_against_the_schema() {
    for path in [run_dir().join("summary.json"), baseline_path()] {
        let text = std::fs::read_to_string(&path).unwrap();
        schema::assert_valid_summary(&serde_json::from_str(&text).unwrap());
        Summary::read(&path).expect("loadgen reads it");
    }
    let broken = serde_json::json!({"schema_version": 2, "total": {"requests": "many"}});
    assert!(schema::validate(&schema::summary_schema(), &broken).len() > 3);
}

#[test]
fn percentiles_agree_across_formats() {
    agree::assert_formats_agree(run_dir());
    let dir = tmp("reports-baseline");
    let baseline = Summary::read(&baseline_path()).unwrap();
    loadgen::report::write_all(&baseline, &dir).unwrap();
    std::fs::copy(baseline_path(), dir.join("summary.json")).unwrap();
    agree::assert_formats_agree(&dir);
    let history = std::fs::read_to_string(dir.join("stats_history.csv")).unwrap();
    assert!(
        history.lines().nth(1).unwrap().contains("N/A"),
        "no hlog: cumulative columns N/A"
    );
}

#[test]
fn hlog_round_trips_with_the_summarys_percentiles() {
    let dir = run_dir();
    let s = Summary::read(&dir.join("summary.json")).unwrap();
    let bytes = std::fs::read(dir.join("latency.hlog")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("#[StartTime: ") && text.contains("#[BaseTime: "));
    let (mut total, mut tagged, mut untagged) = (hdr::new_histogram(), BTreeMap::new(), 0);
    for entry in IntervalLogIterator::new(&bytes) {
        let LogEntry::Interval(i) = entry.expect("a well-formed interval log") else {
            continue;
        };
        assert_eq!(i.duration(), Duration::from_secs(1));
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            i.encoded_histogram(),
        )
        .unwrap();
        let hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(raw))
            .unwrap();
        match i.tag() {
            None => {
                untagged += 1;
                total.add(&hist).unwrap();
            }
            Some(t) => tagged
                .entry(t.as_str().to_string())
                .or_insert_with(hdr::new_histogram)
                .add(&hist)
                .unwrap(),
        }
    }
    assert_eq!(untagged, s.series.len(), "one untagged interval per second");
    let p = hdr::percentile;
    assert_eq!(total.len(), s.total.figures.requests);
    assert_eq!(
        [
            p(&total, 50.0),
            p(&total, 90.0),
            p(&total, 95.0),
            p(&total, 99.0),
            p(&total, 99.9)
        ],
        [
            s.total.figures.p50_us,
            s.total.figures.p90_us,
            s.total.figures.p95_us,
            s.total.figures.p99_us,
            s.total.figures.p999_us
        ]
    );
    assert_eq!(tagged.len(), s.endpoints.len());
    for row in &s.endpoints {
        let tag = loadgen::report::hlog::tag_for(&row.method, &row.name);
        let h = &tagged[&tag];
        assert_eq!(h.len(), row.figures.requests, "{tag}");
        assert_eq!(
            [p(h, 50.0), p(h, 95.0), p(h, 99.0)],
            [row.figures.p50_us, row.figures.p95_us, row.figures.p99_us]
        );
    }
}

#[test]
fn junit_has_a_testcase_per_threshold_with_observed_and_limit() {
    let mut s = Summary::read(&baseline_path()).unwrap();
    s.thresholds[2].passed = false;
    s.verdict.passed = false;
    s.verdict.failed_rules = 1;
    let dir = tmp("reports-junit");
    loadgen::report::write_all(&s, &dir).unwrap();
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), s.thresholds.len());
    assert_eq!(xml.matches("<failure ").count(), 1);
    let r = &s.thresholds[2];
    let want = format!("observed {}, limit {}", r.observed_text, r.limit_text);
    assert!(xml.contains(&want), "{xml}");
    assert!(xml.contains(r#"tests="4" failures="1""#));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("failed") && md.contains("**FAIL**"));
}

#[test]
fn compare_passes_a_run_against_itself_and_flags_regressions() {
    let base = Summary::read(&baseline_path()).unwrap();
    assert_eq!(compare(&base, &base, &Limits::default()).regressions(), 0);
    let mut worse = base.clone();
    worse.total.figures.p95_us = base.total.figures.p95_us * 12 / 10;
    worse.total.figures.rps = base.total.figures.rps * 0.9;
    let c = compare(&base, &worse, &Limits::default());
    assert_eq!(c.regressions(), 2);
    let mut table = Vec::new();
    c.write_table(&mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("REGRESSION") && table.contains("+20.0%"),
        "{table}"
    );
    let lenient = Limits::parse("p95=25%,rps=off").unwrap();
    assert_eq!(compare(&base, &worse, &lenient).regressions(), 0);
}

/// Runs chromium with a deadline; `None` when it is not installed.
fn chromium(args: &[&str]) -> Option<String> {
    let mut child = match Command::new("chromium")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start chromium: {e}"),
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(reader.join().unwrap())
}

/// The shared run's summary with the target's own series added (as `--scrape`
/// records them: a gauge, a counter's rate, a target that stopped answering).
fn with_server_series() -> PathBuf {
    use loadgen::observe::server_series::*;
    let mut s = Summary::read(&run_dir().join("summary.json")).unwrap();
    let url = "http://127.0.0.1:8080/metrics".to_string();
    let series = |metric: &str, kind, f: fn(u64) -> f64| ServerSeries {
        metric: metric.into(),
        target: url.clone(),
        labels: Default::default(),
        kind,
        points: (0..5).filter(|&t| t != 3).map(|t| (t, f(t))).collect(),
    };
    s.server = Some(ServerMetrics {
        targets: vec![ScrapeTarget {
            url: url.clone(),
            scrapes: 4,
            failures: 1,
            outages: vec![ScrapeOutage {
                from_second: 3,
                to_second: 3,
                error: "no answer within 900 ms".into(),
            }],
            missing: vec!["db_pool_connections".into()],
            series_dropped: 0,
        }],
        series: vec![
            series("http_requests_in_flight", SeriesKind::Gauge, |t| {
                2.0 + t as f64
            }),
            series("http_requests_shed_total", SeriesKind::Rate, |t| {
                (t * t) as f64
            }),
        ],
    });
    let dir = tmp("reports-server");
    loadgen::report::write_all(&s, &dir).unwrap();
    dir.join("report.html")
}

#[test]
fn report_html_renders_in_a_headless_browser() {
    let page = with_server_series();
    let profile = tmp("reports-chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let user_data = format!("--user-data-dir={}", profile.display());
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let Some(dom) = chromium(&[
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        &user_data,
        "--virtual-time-budget=5000",
        "--dump-dom",
        &url,
    ]) else {
        println!("skipped: chromium not installed");
        return;
    };
    assert!(
        dom.contains("<ul id=\"errors\"></ul>"),
        "the page logged errors: {dom}"
    );
    for id in [
        "chart-users",
        "chart-throughput",
        "chart-latency",
        "chart-server-http_requests_in_flight",
        "chart-server-http_requests_shed_total",
        "chart-percentiles",
    ] {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id}"));
        let tag_start = dom[..at].rfind('<').unwrap();
        let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>').unwrap()];
        assert!(
            tag.contains("data-rendered=\"true\""),
            "{id} not rendered: {tag}"
        );
    }
    assert!(dom.contains("data-charts=\"6\""));
    assert!(
        dom.matches("<polyline").count() >= 10,
        "the charts hold series"
    );
    let latency = dom.find("id=\"chart-latency\"").unwrap();
    let server = dom
        .find("id=\"chart-server-http_requests_in_flight\"")
        .unwrap();
    assert!(
        latency < server,
        "the server's series come under the client's latency"
    );
    assert!(dom.contains("Server: http_requests_shed_total per second"));
    assert!(dom.contains("3s-3s: no answer within 900 ms") && dom.contains("db_pool_connections"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") || !html.contains("<script src"),
        "self-contained"
    );
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
}

#[test]
fn a_stress_runs_breaking_point_and_plan_are_in_the_page() {
    let mut s = Summary::read(&baseline_path()).unwrap();
    s.breaking_point = Some(loadgen::judge::stress::BreakingPoint {
        reason: "P99 1.2s over the last 10 s is above 1s".into(),
        second: 21,
        last_good: Some(loadgen::judge::stress::StepResult {
            level: 40,
            rps: 20.5,
            p99_us: 25_000,
            error_rate: 0.0,
        }),
        failing: loadgen::judge::stress::StepResult {
            level: 50,
            rps: 21.0,
            p99_us: 1_200_000,
            error_rate: 0.02,
        },
    });
    let dir = tmp("reports-stress");
    loadgen::report::write_all(&s, &dir).unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"breaking-point\"") && html.contains("1200.00"));
    assert!(html.contains("<title>planned</title>") && html.contains("<title>run</title>"));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("**Breaking point**"));
}
