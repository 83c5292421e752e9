//! Rendering checked on ratatui's `TestBackend`: what the buffer says.

use super::super::model::{EndpointLine, Model, Point, RuleLine, Snapshot, WorkerRow};
use super::super::view::{Key, Screen, ViewState};
use super::render;
use crate::distributed::WorkerState;
use crate::metrics::{EndpointFigures, ErrorCount, FailureKind};
use crate::shape::Shape;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

fn model() -> Model {
    let mut m = Model::new(&Shape::parse_plan("50,10s;50,50s").unwrap());
    let endpoint = |method: &str, name: &str, requests, p50_us| EndpointLine {
        method: method.into(),
        name: name.into(),
        figures: EndpointFigures {
            requests,
            failures: 3,
            p50_us,
            p95_us: 12_300,
            p99_us: 45_600,
            mean_us: 4_560.0,
            min_us: 800,
            max_us: 98_700,
            avg_bytes: 512.0,
            rps: 123.4,
            failures_per_sec: 0.25,
            ..EndpointFigures::default()
        },
    };
    m.apply(Snapshot {
        elapsed_secs: 12.4,
        points: (0..12)
            .map(|s| Point {
                second: s,
                users: 5 * s.min(10),
                requests: 100 + s,
                failures: s % 2,
                p50_us: 3_000,
                p95_us: 9_000,
                p99_us: 15_000,
                ..Point::default()
            })
            .collect(),
        total: endpoint("", "Aggregated", 1_481, 3_210),
        endpoints: vec![
            endpoint("GET", "/books", 1_000, 3_210),
            endpoint("POST", "/loans", 481, 7_650),
        ],
        errors: vec![ErrorCount {
            method: "POST".into(),
            name: "/loans".into(),
            kind: FailureKind::Status,
            message: "503 Service Unavailable".into(),
            count: 3,
            first_second: Some(4),
            last_second: Some(9),
        }],
        rules: vec![
            RuleLine {
                rule: "p95<5ms".into(),
                observed: "12.3ms".into(),
                limit: "5.00ms".into(),
                passed: Some(false),
            },
            RuleLine {
                rule: "error-rate<1%".into(),
                observed: "0.20%".into(),
                limit: "1.00%".into(),
                passed: Some(true),
            },
        ],
        ..Snapshot::default()
    });
    m
}

fn draw(m: &Model, view: &ViewState, w: u16, h: u16) -> (String, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(m, view, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let text = (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    (text, buf)
}

fn on(screen: Screen) -> ViewState {
    ViewState {
        screen,
        ..ViewState::default()
    }
}

#[test]
fn overview_at_80x24_names_the_run_and_marks_the_failing_rule() {
    let (text, buf) = draw(&model(), &on(Screen::Overview), 80, 24);
    for want in [
        "1 Overview",
        "plan",
        "stage 2/2: hold 50 users over 50s",
        "12s / 1m (48s left)",
        "users 50/50",
        "local run",
        "111 rps",
        "1481 reqs",
        "Requests/s: RPS fail/s",
        "Latency: P50 P95 P99",
        "Users: plan active",
        "1 of 2 FAILING",
        "p95<5ms",
        "12.3ms",
        "q/Ctrl-C stop",
        "? help",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let row = text.lines().position(|l| l.contains("p95<5ms")).unwrap() as u16;
    let line = text.lines().nth(row as usize).unwrap();
    let x = line
        .char_indices()
        .find(|(i, _)| line[*i..].starts_with("FAIL"))
        .map(|(i, _)| line[..i].chars().count() as u16)
        .expect("FAIL on the rule's row");
    assert_eq!(buf[(x, row)].fg, Color::Red);
    assert!(line.contains("FAIL"));
    let pass_row = text.lines().find(|l| l.contains("error-rate<1%")).unwrap();
    assert!(pass_row.contains("pass"));
}

#[test]
fn endpoints_table_has_locust_columns_and_sorts() {
    let (text, _) = draw(&model(), &on(Screen::Endpoints), 140, 20);
    for want in [
        "Type",
        "Name",
        "# Requests",
        "# Fails",
        "Median",
        "95%ile",
        "99%ile",
        "Average",
        "Min",
        "Max",
        "Avg size",
        "RPS",
        "Failures/s",
        "Aggregated",
        "3.21",
        "7.65",
        "4.56",
        "0.80",
        "99",
        "0.25",
        "512",
        "123.4",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let pos = |t: &str, s: &str| t.find(s).unwrap();
    assert!(pos(&text, "/books") < pos(&text, "/loans"));
    let mut view = on(Screen::Endpoints);
    for _ in 0..3 {
        view.on_key(Key::Sort);
    }
    let (sorted, _) = draw(&model(), &view, 140, 20);
    assert!(sorted.contains("sorted by median"));
    assert!(pos(&sorted, "/loans") < pos(&sorted, "/books"));
    // 80 columns keep the columns that matter most.
    let (narrow, _) = draw(&model(), &on(Screen::Endpoints), 80, 24);
    assert!(narrow.contains("/books") && narrow.contains("99%ile"));
}

#[test]
fn errors_and_workers_screens() {
    let (text, _) = draw(&model(), &on(Screen::Errors), 100, 20);
    assert!(text.contains("503 Service Unavailable") && text.contains("POST /loans"));
    let (text, _) = draw(&model(), &on(Screen::Workers), 100, 20);
    assert!(text.contains("local run"));
    let mut m = model();
    m.latest.workers = vec![
        WorkerRow {
            name: "w-1".into(),
            state: WorkerState::Running,
            users: 30,
            rps: 70.5,
            errors: 1,
        },
        WorkerRow {
            name: "w-2".into(),
            state: WorkerState::Lost,
            users: 0,
            rps: 0.0,
            errors: 0,
        },
    ];
    let (text, buf) = draw(&m, &on(Screen::Workers), 100, 20);
    assert!(text.contains("70.5") && text.contains("LOST"));
    assert!(text.contains("2 workers (1 lost)"));
    let row = text.lines().position(|l| l.contains("w-2")).unwrap() as u16;
    assert_eq!(buf[(2, row)].fg, Color::Red);
}

#[test]
fn help_overlay_and_an_empty_start_render() {
    let view = ViewState {
        help: true,
        ..ViewState::default()
    };
    let (text, _) = draw(&model(), &view, 80, 24);
    assert!(text.contains("stop the run gracefully"));
    let empty = Model::new(&Shape::parse_plan("5,1s;5,60s").unwrap());
    let (text, _) = draw(&empty, &ViewState::default(), 80, 24);
    assert!(text.contains("0 reqs") && text.contains("Thresholds: none"));
    // Tiny terminals do not panic.
    draw(&model(), &ViewState::default(), 20, 5);
}

#[test]
fn an_open_run_shows_its_rate_drops_service_time_and_a_generator_behind() {
    let mut m = model();
    m.open = true;
    m.latest.service_p99_us = Some(12_300);
    m.latest.dropped = Some(7);
    m.latest.connections = Some(42);
    let (text, _) = draw(&m, &on(Screen::Overview), 140, 30);
    for want in ["rate 50/s", "dropped 7", "p99 from send 12.3ms", "conns 42"] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("GENERATOR BEHIND"));
    m.latest.generator_behind = Some("it started work late".into());
    let (text, buf) = draw(&m, &on(Screen::Overview), 140, 30);
    assert!(text.contains("GENERATOR BEHIND"), "{text}");
    let at = text.lines().position(|l| l.contains("GENERATOR")).unwrap();
    let x = text.lines().nth(at).unwrap().find("GENERATOR").unwrap();
    let x = text.lines().nth(at).unwrap()[..x].chars().count() as u16;
    assert_eq!(buf[(x, at as u16)].fg, Color::Red);
}

#[test]
fn fault_marks_are_numbered_and_timed_in_the_legends_in_magenta() {
    let mut m = model();
    m.latest.faults = vec![(3, 1), (8, 3)];
    let (text, buf) = draw(&m, &on(Screen::Overview), 140, 30);
    for want in [
        "Requests/s: RPS fail/s fault 1@3s 3@8s",
        "Latency: P50 P95 P99 fault 1@3s 3@8s",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let row = text.lines().position(|l| l.contains("fault 1@3s")).unwrap();
    let line = text.lines().nth(row).unwrap();
    let x = line[..line.find("fault 1@3s").unwrap()].chars().count() as u16;
    assert_eq!(buf[(x, row as u16)].fg, Color::Magenta);
    let (plain, _) = draw(&model(), &on(Screen::Overview), 140, 30);
    assert!(!plain.contains("fault"), "no faults, no marks:\n{plain}");
}
